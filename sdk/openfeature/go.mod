module github.com/waypost/waypost/sdk/openfeature

go 1.26.0

require (
	github.com/open-feature/go-sdk v1.18.0
	github.com/waypost/waypost/sdk v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
)

require go.uber.org/mock v0.6.0 // indirect

replace github.com/waypost/waypost/sdk => ../
