# Shorthands for the README's commands; nothing here that the README does
# not say.

.PHONY: run test check bench ci

run:
	go run ./cmd/gatehouse serve --demo

test:
	go test -race ./...

check:
	test -z "$$(gofmt -l .)"
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench:
	go run ./bench

ci:
	bash .ci/run
