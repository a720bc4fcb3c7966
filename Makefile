# s3ocr — see README.md. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
GO ?= go

# libgomp reads OMP_THREAD_LIMIT in an ELF constructor, before Go runs, so it
# must be in the environment of every process that runs Tesseract (tests,
# the local stack, the Lambda function). Unlimited OpenMP threads make a page
# 3–10x slower on 2 vCPUs (see ../shared/NOTES.md).
export OMP_THREAD_LIMIT ?= 1

# Lambda builds: reproducible (-trimpath, no VCS stamp, no build id),
# stripped, and without the RPC mode provided.al2023 never uses. GOARCH
# follows template.yaml's default Architecture (arm64), because sam build
# does not pass the architecture to make: for x86_64, run
# `GOARCH=amd64 sam build` and deploy with Architecture=x86_64.
GOARCH ?= arm64
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
TESSERACT_VERSION ?= $(shell pkg-config --modversion tesseract 2>/dev/null)
LDFLAGS := -s -w -buildid= -X github.com/s3ocr/s3ocr/internal/buildinfo.Version=$(VERSION) -X github.com/s3ocr/s3ocr/internal/buildinfo.Tesseract=$(TESSERACT_VERSION)
BUILD_FLAGS := -trimpath -buildvcs=false -tags lambda.norpc -ldflags='$(LDFLAGS)'
DIST ?= dist

.PHONY: help
help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-22s %s\n", $$1, $$2}'

.PHONY: tools
tools: ## install what the build, the tests and the local stack need (apt, MinIO, dynalite)
	./scripts/install-tools

.PHONY: dev
dev: tools ## run the whole flow locally: API on http://127.0.0.1:8080 (PORT to change)
	$(GO) run ./cmd/s3ocr-dev

.PHONY: test
test: tools lint ## run every test, unit and integration (starts MinIO and dynalite itself), then each fuzz target briefly
	S3OCR_REQUIRE_TOOLS=1 $(GO) test -count=1 -race -timeout 20m ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=100000x

.PHONY: load
load: tools ## push 500 uploads (a fifth duplicates) through the local stack from 16 clients; prints throughput and latency
	S3OCR_REQUIRE_TOOLS=1 S3OCR_LOAD_UPLOADS=$${S3OCR_LOAD_UPLOADS:-500} S3OCR_LOAD_CLIENTS=$${S3OCR_LOAD_CLIENTS:-16} \
	  $(GO) test -count=1 -run '^TestLoad$$' -v -timeout 30m ./internal/e2e | grep -E '^(load:|--- |ok|FAIL)'

.PHONY: redrive
redrive: ## send the dead-letter queue's events back to the process function: DLQ_URL=<the stack's DeadLetterQueueUrl output> (make dev prints the local one)
	@test -n "$$DLQ_URL" || { echo "make redrive needs DLQ_URL: the stack's DeadLetterQueueUrl output (aws cloudformation describe-stacks), or the one make dev prints"; exit 2; }
	$(GO) run ./cmd/s3ocr-redrive -queue-url "$$DLQ_URL"

.PHONY: eval
eval: tools ## read every document of ../shared/corpus through the local flow; CER/WER per kind beside the baseline
	@test -d ../shared/corpus || { echo "make eval needs ../shared/corpus beside the project"; exit 1; }
	$(GO) run ./cmd/s3ocr-eval -corpus ../shared/corpus -scorer ../shared/tools/cer.py

.PHONY: bench
bench: tools ## benchmarks: OCR per page against the tesseract CLI (in process and the deployed static bootstrap), threads, cold start, duplicates, status, memory, cost; prints the table, writes BENCHMARKS.md
	S3OCR_REQUIRE_TOOLS=1 $(GO) run ./cmd/s3ocr-bench -go $(GO)

# Every Fuzz* function in internal/, each for FUZZTIME (go test runs one
# fuzz target at a time). make test gives each a count of inputs, a few seconds
# here, not a duration: go1.26's fuzz coordinator can report a bare "context
# deadline exceeded" failure when a duration ends while a worker is busy
# (go.dev/issue/75804, fixed in Go 1.27), which a loaded CI machine hits.
FUZZTIME ?= 60s
.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 60s)
	@set -e; for file in $$(grep -rl --include='*_test.go' '^func Fuzz' internal); do \
	  for fn in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/p' $$file); do \
	    echo "fuzz: $$fn in ./$$(dirname $$file) for $(FUZZTIME)"; \
	    $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) ./$$(dirname $$file); \
	  done; \
	done

.PHONY: screenshot
screenshot: tools ## drive the browser page in headless Chromium against the local stack; saves docs/screenshot.png
	S3OCR_REQUIRE_TOOLS=1 S3OCR_SCREENSHOT=docs/screenshot.png $(GO) test -count=1 -run '^TestBrowser' ./internal/e2e

.PHONY: unit
unit: ## run the tests that need no local servers (the others skip)
	$(GO) test -count=1 ./...

.PHONY: lint
lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# --- Lambda artifacts -------------------------------------------------------
# SAM's makefile builder runs `make build-<LogicalId>` with ARTIFACTS_DIR set.

.PHONY: build-UploadFunction build-StatusFunction build-ProcessFunction lambda
build-UploadFunction:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build $(BUILD_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/upload

build-StatusFunction:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build $(BUILD_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/status

# The process function links Tesseract, Leptonica, their image codecs,
# libstdc++, libgomp and glibc statically, so it runs on Amazon Linux 2023
# (glibc 2.34, GCC 11), whose libraries are older than Debian's, and in an
# empty root filesystem (internal/portable shows both). The s3ocr_static tag
# adds stubs for the libcurl and libarchive calls in libtesseract.a that the
# service never makes (internal/tesseract/static.go); netgo and osusergo keep
# glibc's NSS, which a static binary cannot load, out of name resolution.
STATIC_LIBS := -ltesseract -lleptonica -ltiff -lwebpmux -lwebp -lgif -lopenjp2 -lpng -ljpeg -ljbig -lLerc -ldeflate -lzstd -llzma -lz -lgomp -lstdc++ -lm -lpthread -ldl
PROCESS_FLAGS := -trimpath -buildvcs=false -tags lambda.norpc,s3ocr_static,netgo,osusergo \
  -ldflags='$(LDFLAGS) -linkmode external -extldflags "-static $(STATIC_LIBS)"'

# arm64 (Graviton) is cross-built on x86_64 with Debian's cross toolchain, against
# Debian's arm64 packages unpacked into a sysroot by scripts/arm64-sysroot,
# which the builds run first (it returns at once when all is there).
TRIPLET_arm64 := aarch64-linux-gnu
TRIPLET_amd64 := x86_64-linux-gnu
LAYER_ENV := TRIPLET=$(TRIPLET_$(GOARCH))
ifeq ($(GOARCH)-$(shell uname -m),arm64-x86_64)
CROSS_DEPS := arm64-sysroot
ARM64_SYSROOT ?= $(or $(S3OCR_ARM64_SYSROOT),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/s3ocr/sysroot-arm64)
CROSS_ENV := CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ \
  CGO_CFLAGS="-O2 -g -I$(ARM64_SYSROOT)/usr/include -I$(ARM64_SYSROOT)/usr/include/$(TRIPLET_arm64)" CGO_CXXFLAGS="-O2 -g -I$(ARM64_SYSROOT)/usr/include" \
  CGO_LDFLAGS="-L$(ARM64_SYSROOT)/usr/lib/aarch64-linux-gnu"
LAYER_ENV += SYSROOT=$(ARM64_SYSROOT)
endif

.PHONY: arm64-sysroot
arm64-sysroot:
	@./scripts/arm64-sysroot >/dev/null

# LINK=dynamic links the process function against this machine's shared
# libraries instead: the local stack (internal/localstack) builds it so for
# the host, where linking statically would only cost time, while
# internal/portable keeps proving the static artifact that deploys.
LINK ?= static
ifeq ($(LINK),dynamic)
PROCESS_FLAGS := $(BUILD_FLAGS)
endif

build-ProcessFunction: $(CROSS_DEPS)
	$(CROSS_ENV) CGO_ENABLED=1 GOOS=linux GOARCH=$(GOARCH) $(GO) build $(PROCESS_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/process

lambda: ## build every function's bootstrap into dist/ without SAM (GOARCH=arm64 by default, or amd64)
	$(MAKE) build-UploadFunction ARTIFACTS_DIR=$(DIST)/upload
	$(MAKE) build-StatusFunction ARTIFACTS_DIR=$(DIST)/status
	$(MAKE) build-ProcessFunction ARTIFACTS_DIR=$(DIST)/process

.PHONY: clean
clean: ## remove build output
	rm -rf $(DIST) .aws-sam

.PHONY: build-TesseractLayer layer
build-TesseractLayer: $(CROSS_DEPS)
	$(LAYER_ENV) $(MAKE) -C layers/tesseract build-TesseractLayer ARTIFACTS_DIR=$(abspath $(ARTIFACTS_DIR))

layer: ## build the Tesseract layer into dist/layer (GOARCH as for lambda)
	$(MAKE) build-TesseractLayer ARTIFACTS_DIR=$(DIST)/layer
