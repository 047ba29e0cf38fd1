# The README's two commands, on a Debian machine with Swift 6 (as root, for the sandbox):
#   make run    installs what is missing, builds the release binary, runs the world
#   make test   installs what is missing, runs swift test and the fuzzers (CI: .ci/run)
# The apt packages are listed once, in .ci/prerequisites.

# `make run RUN_ARGS=` runs until Ctrl-C; `make run RUN_ARGS="--duration 300 --agents 20"`.
RUN_ARGS ?= --duration 60
# The world's data directory (git ignores .ecology/); `make run DATA_DIR=/var/lib/ecology`.
DATA_DIR ?= .ecology

.PHONY: prerequisites build run test

prerequisites:
	.ci/prerequisites

build: prerequisites
	swift build -c release --product ecology

run: build
	.build/release/ecology run --data-dir "$(DATA_DIR)" $(RUN_ARGS)

test: prerequisites
	.ci/test
