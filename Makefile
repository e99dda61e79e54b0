# netpolcheck: build, test and benchmark targets. Network tests need root.
GO ?= go
OUT ?= _output

.PHONY: all setup build test vet bench fuzz images clean kind-node-image

all: build

# setup installs what the tests need on Debian/Ubuntu and fetches the modules.
setup:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables ipset conntrack iproute2 make
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

clean:
	rm -rf $(OUT)
