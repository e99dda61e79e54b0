# netpolcheck: build, test and benchmark targets. Network tests need root.
GO ?= go
OUT ?= _output

.PHONY: all setup build test test-kind vet bench fuzz images clean kind-node-image conformance bench-probe mutants generated

all: build

# setup installs what the tests and make conformance need on Debian/Ubuntu
# (docker.io, jq and debootstrap for kind and its offline node image;
# chromium for the HTML report's browser test, xmllint for the JUnit schema
# test) and fetches the modules.
setup:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables ipset conntrack iproute2 make docker.io jq debootstrap chromium libxml2-utils
	$(GO) mod download

build:
	$(GO) build -o $(OUT)/bin/ ./cmd/...

vet:
	$(GO) vet ./...

test: vet
	$(GO) test -count=1 -timeout 30m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzModel -fuzztime 60s ./reference/model/

images:
	$(GO) run ./cmd/netpolcheck images -o $(OUT)/images

# kind-node-image builds the offline kind node image (cached; see
# clusters/nodeimage), starting Debian's dockerd when no Docker engine answers.
# It installs debootstrap, and docker.io and jq when no engine answers, if missing.
kind-node-image:
	@command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; }
	@docker version >/dev/null 2>&1 || { test -x /usr/sbin/dockerd && command -v jq >/dev/null; } || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io jq; }
	$(GO) run ./clusters/nodeimage/cmd/nodeimage build

# conformance runs the curated suite on a kind cluster (or, with KUBECONFIG
# set, on that existing cluster): images, node image (cached), cluster,
# enforcer under test, preflight, cases, the reports in $(REPORT_DIR)
# (results.jsonl, junit.xml, report.html, summary.md, conformance.yaml), and
# the cluster deleted unless KEEP=1. ENFORCER is reference (default) or none;
# FOCUS and LABELS select cases (Ginkgo focus regex and label filter); NODES
# is the number of workers; KIND_CONFIG replaces the kind configuration;
# NODE_IMAGE uses a published kind node image instead of building one.
# A user's plugin: ENFORCER_MANIFESTS=DIR (its YAML, applied once the cluster
# is up), LOAD_IMAGES="a.tar b.tar" (its images, loaded into every node) and
# CNI=manifests when the plugin is also the network (default builtin);
# ENFORCER_NAME, ENFORCER_VERSION and ENFORCER_URL name it in the reports.
ENFORCER ?= reference
REPORT_DIR ?= $(OUT)/conformance
NODES ?= 2
# DEADLINE bounds each step's convergence: a real cluster's rounds take
# seconds, and a pass needs four matching rounds in a row. With nothing
# enforcing, nothing will change: a step that has not matched in 10s never
# will.
DEADLINE ?= $(if $(filter none,$(ENFORCER)),10s,60s)
CONFORMANCE_CLUSTER = $(if $(KUBECONFIG),existing,kind)
conformance: images $(if $(KUBECONFIG)$(NODE_IMAGE),,kind-node-image)
	@if [ -e $(REPORT_DIR)/results.jsonl ]; then echo "moving the last run's reports to $(REPORT_DIR).previous"; rm -rf $(REPORT_DIR).previous; mv $(REPORT_DIR) $(REPORT_DIR).previous; fi
	NETPOLCHECK_CLUSTER=$(CONFORMANCE_CLUSTER) NETPOLCHECK_ENFORCER=$(ENFORCER) NETPOLCHECK_KEEP=$(KEEP) \
	NETPOLCHECK_NODES=$(NODES) NETPOLCHECK_DEADLINE=$(DEADLINE) NETPOLCHECK_KIND_CONFIG=$(if $(KIND_CONFIG),$(abspath $(KIND_CONFIG))) NETPOLCHECK_IMAGES=$(CURDIR)/$(OUT)/images \
	NETPOLCHECK_REPORT_DIR=$(abspath $(REPORT_DIR)) NETPOLCHECK_NODE_IMAGE=$(NODE_IMAGE) \
	NETPOLCHECK_ENFORCER_NAME="$(ENFORCER_NAME)" NETPOLCHECK_ENFORCER_VERSION="$(ENFORCER_VERSION)" NETPOLCHECK_ENFORCER_URL="$(ENFORCER_URL)" \
	NETPOLCHECK_ENFORCER_MANIFESTS=$(if $(ENFORCER_MANIFESTS),$(abspath $(ENFORCER_MANIFESTS))) NETPOLCHECK_LOAD_IMAGES="$(abspath $(LOAD_IMAGES))" NETPOLCHECK_CNI=$(CNI) \
	$(GO) test -count=1 -v -timeout 90m ./suites/core -args --ginkgo.no-color --ginkgo.fail-on-empty \
		$(if $(FOCUS),--ginkgo.focus='$(FOCUS)') $(if $(LABELS),--ginkgo.label-filter='$(LABELS)')

# generated runs the Ginkgo suite over generated cases (suites/generated) on
# the netns cluster, as root, with the reference enforcer: the differential
# check that the model's table and the observed one agree on every case.
# SEED and COUNT choose the cases (netpolcheck generate --seed SEED --count
# COUNT writes the same ones as YAML); LABELS filters them (e.g.
# 'peer=ipblock && !sctp'). The reports, the coverage table among them, go
# to $(GENERATED_DIR); a case that fails is written there (failed/) and
# shrunk to a minimal case (shrunk/). 1,000 cases take about 11 minutes.
SEED ?= 1
COUNT ?= 40
GENERATED_DIR ?= $(OUT)/generated
generated:
	@if [ -e $(GENERATED_DIR)/results.jsonl ]; then echo "moving the last run's reports to $(GENERATED_DIR).previous"; rm -rf $(GENERATED_DIR).previous; mv $(GENERATED_DIR) $(GENERATED_DIR).previous; fi
	NETPOLCHECK_GENERATED_SEED=$(SEED) NETPOLCHECK_GENERATED_COUNT=$(COUNT) NETPOLCHECK_REPORT_DIR=$(abspath $(GENERATED_DIR)) \
	$(GO) test -count=1 -v -timeout 24h ./suites/generated -args --ginkgo.no-color --ginkgo.timeout=24h \
		$(if $(LABELS),--ginkgo.label-filter='$(LABELS)')

# test-kind runs the tests that build kind clusters (the guard and the
# preflight on a real cluster, a plugin from manifests): minutes each, and
# the node image first if it is not cached.
test-kind: images kind-node-image
	NETPOLCHECK_KIND_TESTS=1 $(GO) test -count=1 -v -timeout 40m ./clusters/kind/

# bench-probe times one probe of the full default matrix (486 cells) on a
# kind cluster both ways, the default batch prober and the upstream e2e
# suite's one exec per cell, with a rejecting and with a dropping reference
# enforcer, and prints the ratio. It builds and deletes two clusters.
bench-probe: images kind-node-image
	$(GO) test -run '^$$' -bench BenchmarkProbeMatrix -benchtime 1x -timeout 60m ./suites/bench

# mutants runs the kill-rate test (as root): the reference enforcer, then
# each of its deliberately broken variants (reference/enforcer/mutants.go),
# against the preflight and the case library on netns clusters. It prints
# which case killed each mutant and ends with the line "killed N/M mutants";
# it fails if a mutant survives. The log is kept in $(OUT)/mutants.log.
mutants:
	@mkdir -p $(OUT)
	@{ NETPOLCHECK_MUTANTS=1 $(GO) test -count=1 -v -run TestEveryMutantIsKilled -timeout 60m ./suites/mutants/ 2>&1; \
		echo $$? > $(OUT)/mutants.status; } | tee $(OUT)/mutants.log
	@status=$$(cat $(OUT)/mutants.status); rm -f $(OUT)/mutants.status; \
		grep -E '^killed [0-9]+/[0-9]+ mutants$$' $(OUT)/mutants.log || echo "no kill count: the test stopped before the mutants were judged (see $(OUT)/mutants.log)"; \
		exit $$status

clean:
	rm -rf $(OUT)
