# Developer entry points; each target is a thin wrapper over scripts/ so the
# same steps run by hand, in CI (.ci/run) and from Ansible.
PYTHON := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: all venv images proto up down test bench clean distclean guest-image

all: venv images

venv:
	bash scripts/install-deps.sh

# scripts/setup.d/*.sh: each feature's engine start-up and cached test assets
# (libvirt daemons, guest kernels, …), run in name order; each is idempotent.
images:
	bash scripts/start-docker.sh
	bash scripts/build-busybox-image.sh
	@set -e; for s in scripts/setup.d/*.sh; do [ -e "$$s" ] || continue; echo "== $$s"; bash "$$s"; done

proto: venv
	@ls proto/v1/*.proto >/dev/null 2>&1 || { echo "make proto: no proto/v1/*.proto to compile" >&2; exit 1; }
	$(PYTHON) -m grpc_tools.protoc -I . --python_out=. --grpc_python_out=. --pyi_out=. proto/v1/*.proto

# A bootable guest disk (extlinux, the Debian cloud kernel, a busybox userland that
# applies the NoCloud seed): `cloud image import guest --file build/guest.qcow2`.
guest-image: venv
	bash scripts/build-guest-image.sh

up: venv images
	$(PYTHON) -m cli.allinone up

down:
	$(PYTHON) -m cli.allinone down

test: venv images
	$(PYTHON) -m pytest -q -ra $(PYTEST_ARGS) tests

bench: venv images
	mkdir -p bench/results
	@set -e; for b in bench/[!_]*.py; do \
		[ -e "$$b" ] || { echo "make bench: no bench/*.py" >&2; exit 0; }; \
		echo "== $$b"; $(PYTHON) "$$b"; \
	done

clean:
	find . -path ./.venv -prune -o -type d -name __pycache__ -exec rm -rf {} +
	rm -rf .pytest_cache build dist

distclean: clean
	rm -rf .venv
	-docker image rm thecloud/busybox:test 2>/dev/null
