package tracker

import _ "embed"

// OpenAPI is the OpenAPI 3.1 description of the tracker's HTTP API, served
// at GET /v1/openapi.json. A test in tracker/server keeps it true.
//
//go:embed openapi.json
var OpenAPI []byte
