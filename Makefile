# Two commands do everything on a fresh machine (see README.md):
#   make course   -- set up, then open the course in JupyterLab
#   make test     -- set up, then run every test and execute every notebook (quick mode)
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: setup setup-system setup-python setup-test course course-run test test-unit test-other-kernels test-notebooks lint

setup: setup-system setup-python

# Offline data alternative (Fashion-MNIST) on Debian/Ubuntu; skipped where apt is absent.
setup-system:
	@if command -v apt-get >/dev/null 2>&1; then \
	  if [ ! -d /usr/share/datasets/fashion-mnist ]; then \
	    $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q dataset-fashion-mnist; \
	  fi; \
	else echo "apt-get not found: install Fashion-MNIST by hand or use MNIST online (see README)"; fi

setup-python:
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q --no-deps -e .

# The browser test drives Debian's Chromium (Playwright cannot download browsers offline).
setup-test: setup-system
	@if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; fi
	$(PIP) install -q -r requirements-test.txt
	$(PIP) install -q --no-deps -e .

course: setup
	$(PYTHON) -m jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/

# The instructor's headless run: every notebook in full mode (QUICK=1 for quick mode),
# rendered to course-run/*.html with a summary in course-run/index.html.
course-run: setup
	$(PYTHON) -m course_utils.course.headless $(if $(QUICK),--quick) --out course-run

# The data set is set explicitly (the offline Fashion-MNIST), so no run tries to download MNIST;
# tests/test_data.py tests the download path against a local fake server. The training precision
# is fixed (COURSE_PRECISION=float32), so what a test trains in does not depend on a timing probe
# (tests/test_precision.py tests the probe itself).
TEST_ENV = COURSE_DATASET=fashion-mnist COURSE_PRECISION=float32

# The numeric tests a second time with other floating-point kernels: PyTorch's portable (non-SIMD)
# CPU kernels, MKL's reproducible code path and one thread. This proves that no test depends on
# the last bits of one machine's kernels (a different CPU changes them the same way). Left out of
# make test's second run, because they compute nothing that these switches change or they execute
# the notebooks, which make test does once (tests/conftest.py's course_run): the browser tests
# (Chromium), the website builds (Sphinx), everything that executes notebooks or the course run
# (compared outputs, course run, student versions, Colab's first cell, the figure audit of a
# notebook, nbgrader, the headless run's failure branches), the set-up/Binder/links/layout/pairing
# checks (files and text), the checks of committed results files and widget stand-ins (no
# computation), and the isolation checks (home folder, network). `make test-other-kernels` runs
# the notebooks' compared outputs under the other kernels too (one more course run, ~4 min).
OTHER_KERNELS = ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE OMP_NUM_THREADS=1 COURSE_THREADS=1
NOT_NUMERIC = test_browser test_theme_browser test_site test_site_course test_course_run test_student \
  test_colab test_figure_style test_grading test_plain_setup test_binder test_links test_layout \
  test_notebook_pairing test_results_files test_results_reader test_static_widgets test_notebook_outputs \
  test_isolation test_headless_failures
# The slowest tests of each run are listed at its end (pytest --durations).
DURATIONS = --durations=25 --durations-min=5

# Every test, then the numeric tests with the other kernels. Each notebook is executed once (quick
# mode, into a temporary folder with its own cache): the compared outputs, the course-run summary,
# the website, the student versions and the browser tests all use that run.
test: setup-test lint
	$(TEST_ENV) $(PYTHON) -m pytest $(DURATIONS) tests
	$(TEST_ENV) $(OTHER_KERNELS) $(PYTHON) -m pytest $(DURATIONS) -p no:cacheprovider tests $(NOT_NUMERIC:%=--ignore=tests/%.py)

test-unit:
	$(TEST_ENV) $(PYTHON) -m pytest $(DURATIONS) tests

# The second run of test, plus the notebooks' compared outputs under the other kernels.
test-other-kernels:
	$(TEST_ENV) $(OTHER_KERNELS) $(PYTHON) -m pytest $(DURATIONS) -p no:cacheprovider tests \
	  $(filter-out --ignore=tests/test_notebook_outputs.py,$(NOT_NUMERIC:%=--ignore=tests/%.py))

# The package's layers (pyproject.toml [tool.importlinter]) and the linter (pyproject.toml [tool.ruff]).
lint:
	lint-imports
	$(PYTHON) -m ruff check course_utils tests benchmarks notebooks

# ---- the course website and the repository's links (see README "For instructors") ----------------
.PHONY: setup-instructor site links

# Sphinx, myst-nb, sphinx-book-theme, offline MathJax and nbgrader (requirements-instructor.txt).
setup-instructor: setup
	$(PIP) install -q -r requirements-instructor.txt

# The website of a course run: course-run/site/index.html. Runs the course first when course-run/
# holds no run (QUICK=1: in quick mode); RERUN=1 runs it again.
site: setup-instructor
	$(PYTHON) -m course_utils.course.site --run course-run $(if $(QUICK),--quick) $(if $(RERUN),--rerun)

# Rewrite README.md's Binder/Colab badges from course_utils/course/links.py (CI checks they are current).
links:
	$(PYTHON) -m course_utils.course.links readme
