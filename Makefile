# The ScaleKD replication suite. `make table3` and `make test` are the two entry points.
SHELL := /bin/bash
SCALE ?= small
JOBS ?= 1
SEEDS ?=
SWIFT ?= swift
PACKAGES := libopenblas-dev libdnnl-dev libfftw3-dev libpng-dev libhdf5-dev zlib1g-dev libturbojpeg0-dev dataset-fashion-mnist hdf5-tools pkg-config libopenmpi-dev openmpi-bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SCALEKD := .build/release/scalekd
TABLES := $(foreach n,1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16,table$(n))

CI_TABLES := 1 2 3 4 5 6 7 9 10 11 15 16

.PHONY: setup build test mpi-test slurm-test bench env teachers recipes campaign plan figures report clean ci-tables ci-check ci-expected $(TABLES)

# Installs the Debian packages only when one is missing (apt-get update first, then).
setup:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	else echo "setup: all Debian packages present"; fi

build: setup
	$(SWIFT) build -c release

test: build
	$(SWIFT) test -c release

# CI regression: the tables at ci scale, trained from an empty run cache so the current
# code is what runs, compared with the committed tables/expected/ (scalekd check).
# Two threads on any machine: per-thread partial sums make results depend on the count.
# One OpenBLAS kernel on any machine (Haswell: every x86-64 host here has AVX2): the
# AVX-512 kernel rounds differently, and a ci run's top-1 moved by 6 points between hosts.
# Likewise one variant of our own C kernels (SCALEKD_ISA=avx2, what tables/expected/ was
# made with): on an AVX-512 host the avx512 variant's other summation orders moved Table 2's
# adv-b.scalekd from 37.33 to 28.00.
# And no oneDNN (SCALEKD_CONV=native, SCALEKD_GEMM=openblas): tables/expected/ was made without
# it, and the convs and GEMMs that `auto` gives it on some hosts round differently.
ci-tables: build
	rm -rf .build/ci-runs tables/ci-out
	for n in $(CI_TABLES); do SCALEKD_THREADS=2 SCALEKD_BLAS_CORETYPE=Haswell SCALEKD_ISA=avx2 SCALEKD_CONV=native SCALEKD_GEMM=openblas $(SCALEKD) run table$$n --scale ci --runs .build/ci-runs --out tables/ci-out || exit 1; done

ci-check: ci-tables
	$(SCALEKD) check --results tables/ci-out --expected tables/expected

# After an intended change of results: regenerate the expected ci results (then commit them).
ci-expected: ci-tables
	mkdir -p tables/expected
	for n in $(CI_TABLES); do f=$$(printf 'table%02d.json' $$n); cp tables/ci-out/$$f tables/expected/$$f; done

env: build
	$(SCALEKD) env

# Engine vs PyTorch on this CPU (PyTorch column when `python3 -c 'import torch'` works);
# e.g. `make bench BENCH_ARGS="--repeats 3 --only model:"` for a quick look.
BENCH_ARGS ?=
bench: build
	$(SCALEKD) bench $(BENCH_ARGS)

# Paper tables: `make table3` (small scale, into tables/out), `make table3 SCALE=ci` (tiny,
# into tables/ci-out), `make table3 SEEDS=1` (a quick look; outputs say how many seeds).
# `make table3 SCALE=paper` prints the paper plan's runs and their cost here (a dry run);
# with DATA=<ImageNet root> TEACHER_WEIGHTS=<teacher>=<file.safetensors>,... it trains them.
PAPER_ARGS = $(if $(DATA),--data $(DATA) --teacher-weights $(TEACHER_WEIGHTS),--dry-run)
$(TABLES): build
	$(SCALEKD) run $@ --scale $(SCALE) $(if $(filter paper,$(SCALE)),$(PAPER_ARGS),--jobs $(JOBS)) $(if $(SEEDS),--seeds $(SEEDS))

# Pre-train the small-scale teachers on the 55k pre-training set (resumable; hours on 2 cores).
teachers: build
	$(SCALEKD) teachers

figures: build
	$(SCALEKD) figures

slurm-test: build
	tools/slurm_test.sh

# Data-parallel training on 2 MPI ranks over loopback: agreement with one process, resume
# after a kill (tools/mpi_test.sh; about a minute).
mpi-test: build
	tools/mpi_test.sh

recipes: build
	$(SCALEKD) recipes

# The whole small-scale campaign in two background lanes (tools/campaign.sh: status, stop).
campaign: build
	tools/campaign.sh start

# What the campaign's tables still need: runs finished and left, time left on this machine.
plan: build
	tools/campaign.sh plan

report: build
	$(SCALEKD) report

clean:
	rm -rf .build
