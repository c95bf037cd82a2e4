package shipment

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SchemaFS holds schema/shipment-status.v1.json, the JSON Schema (draft 2020-12)
// of the canonical event.
//
//go:embed schema/shipment-status.v1.json
var SchemaFS embed.FS

// SchemaPath is the schema's path inside SchemaFS.
const SchemaPath = "schema/shipment-status.v1.json"

// SchemaJSON is the schema document's bytes.
var SchemaJSON = func() []byte {
	b, err := SchemaFS.ReadFile(SchemaPath)
	if err != nil { // unreachable: the file is embedded at build time
		return nil
	}
	return b
}()

// ErrInvalidEvent is wrapped by Validate when a document does not satisfy the schema.
var ErrInvalidEvent = errors.New("event does not satisfy shipment-status.v1 schema")

var (
	compileOnce sync.Once
	compiled    *jsonschema.Schema
	compileErr  error
)

// schema compiles SchemaJSON once, with format assertions on, so "date-time"
// is checked and not merely annotated.
func schema() (*jsonschema.Schema, error) {
	compileOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(SchemaJSON))
		if err != nil {
			compileErr = fmt.Errorf("reading embedded schema: %w", err)
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if err := c.AddResource(DataSchemaURI, doc); err != nil {
			compileErr = fmt.Errorf("adding embedded schema: %w", err)
			return
		}
		compiled, compileErr = c.Compile(DataSchemaURI)
	})
	return compiled, compileErr
}

// Validate checks one JSON document against the shipment-status.v1 schema. It
// returns nil when the document is valid, an error wrapping ErrInvalidEvent
// (with the schema's own explanation) when it is not, and another error when
// doc is not JSON. Safe for concurrent use.
func Validate(doc []byte) error {
	sch, err := schema()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("decoding event: %w", err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	return nil
}

// ValidateEvent marshals e and validates the result.
func ValidateEvent(e Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encoding event: %w", err)
	}
	return Validate(b)
}
