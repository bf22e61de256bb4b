# Included by the Makefile: the quantized model without Python, as integer-only C
# (make export), and the FROM scratch image of this folder's edge.c around it
# (make docker-edge).
.PHONY: export docker-edge

EXPORT := $(A)/c
TEST_CSV := $(A)/test.csv
EDGE := $(A)/edge/housing-edge
# -mgeneral-regs-only: any floating point in the kernel is a compile error
KERNEL_FLAGS := -std=c99 -pedantic -Wall -Wextra -Werror -O2 -mgeneral-regs-only -ffreestanding
EDGE_FLAGS := -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror
# a compiler from the distribution's packages, installed when missing: $(1) the command,
# $(2) the packages
NEED = command -v $(1) >/dev/null || { echo "$@: installing $(2)"; \
  { apt-get install -y -qq $(2) || { apt-get update -qq && apt-get install -y -qq $(2); }; } \
  >/dev/null 2>&1 || { echo "$@: needs $(1): apt-get install $(2)" >&2; exit 1; }; }

export: $(EXPORT)/.checked ## integer-only C of the quantized model in $(EXPORT), compiled and checked on the test split

$(EXPORT)/housing_model.h: $(QUANT) housing/export.py housing/integer.py $(wildcard housing/c/*) $(COMMON)
	$(PY) -m housing export --c $(EXPORT) --model $(QUANT)

$(TEST_CSV): $(SPLIT) housing/data.py $(COMMON)
	$(PY) -m housing data --sample-from $(SPLIT) --sample $@ --sample-rows 0

$(EXPORT)/.checked: $(EXPORT)/housing_model.h $(TEST_CSV)
	@$(call NEED,gcc,gcc)
	gcc $(KERNEL_FLAGS) -c $(EXPORT)/housing_model.c -o $(EXPORT)/kernel.o
	gcc $(EDGE_FLAGS) -O2 -I $(EXPORT) deploy/edge/edge.c $(EXPORT)/kernel.o -o $(EXPORT)/housing-edge
	cmp <($(EXPORT)/housing-edge < $(TEST_CSV)) \
	    <($(PY) -m housing predict --integer --model $(QUANT) < $(TEST_CSV) 2>/dev/null)
	@echo "export: the C kernel, compiled with no floating point, predicts all" \
	  "$$(($$(wc -l < $(TEST_CSV)) - 1)) test rows exactly as housing predict --integer does"
	@touch $@

docker-edge: $(A)/edge/image.id ## a FROM scratch image: one static binary, the C kernel and a CSV reader (EDGE_IMAGE)

$(EDGE): $(EXPORT)/.checked deploy/edge/edge.c
	@$(call NEED,musl-gcc,musl-tools)
	@mkdir -p $(@D)
	musl-gcc $(EDGE_FLAGS) -Os -static -s -I $(EXPORT) deploy/edge/edge.c $(EXPORT)/housing_model.c -o $@

$(A)/edge/image.id: $(EDGE) $(TEST_CSV) deploy/edge/Dockerfile $(PARAMS)/EDGE_IMAGE
	docker build -q -f deploy/edge/Dockerfile --iidfile $(SCRATCH)/edge.id -t $(EDGE_IMAGE) \
	  $(A)/edge >/dev/null
	@size=$$(docker image inspect -f '{{.Size}}' $(EDGE_IMAGE)); \
	 echo "docker-edge: $(EDGE_IMAGE) is $$size bytes (goal: under 1 MB, 1000000)"; \
	 [ "$$size" -lt 1000000 ]
	cmp <(docker run -i --rm --network none --read-only $(EDGE_IMAGE) < $(TEST_CSV)) \
	    <($(PY) -m housing predict --integer --model $(QUANT) < $(TEST_CSV) 2>/dev/null)
	@echo "docker-edge: its predictions of the test split are housing predict --integer's"
	mv $(SCRATCH)/edge.id $@
