"""Entry point: `python app.py [--host --port --share --backend]`."""
from app.main import main

if __name__ == "__main__":
    main()
