module github.com/vitalsync/vitalsync

go 1.26

require (
	github.com/looplab/fsm v1.0.3
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/mattn/go-sqlite3 v1.14.53 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	pgregory.net/rapid v1.3.0 // indirect
)
