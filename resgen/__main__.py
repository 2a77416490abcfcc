from resgen.cli.main import main

raise SystemExit(main())
