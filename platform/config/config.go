// Package config fills a service's typed configuration struct from the environment
// (github.com/caarlos0/env tags), validates it, and renders it for the one startup
// log line with secrets masked.
package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/caarlos0/env/v11"
)

// Validator is implemented by configuration structs that check their own values.
type Validator interface {
	Validate() error
}

// Load parses environment variables into a new T (defaults from `envDefault`
// tags) and runs T's Validate method when it has one.
func Load[T any]() (T, error) {
	return LoadFrom[T](nil)
}

// LoadFrom is Load over an explicit environment (nil means the process
// environment); tests use it to avoid touching os.Environ.
func LoadFrom[T any](environ map[string]string) (T, error) {
	var cfg T
	opts := env.Options{}
	if environ != nil {
		opts.Environment = environ
	}
	if err := env.ParseWithOptions(&cfg, opts); err != nil {
		return cfg, fmt.Errorf("reading configuration from the environment: %w", err)
	}
	if v, ok := any(&cfg).(Validator); ok {
		if err := v.Validate(); err != nil {
			return cfg, fmt.Errorf("invalid configuration: %w", err)
		}
	}
	return cfg, nil
}

// ErrInvalid is wrapped by validation errors built with Check.
var ErrInvalid = errors.New("invalid value")

// Check returns an error naming the variable when ok is false.
func Check(ok bool, name, want string) error {
	if ok {
		return nil
	}
	return fmt.Errorf("%s: %w: %s", name, ErrInvalid, want)
}

// Masked renders cfg as env-name → value pairs for logging. Fields tagged
// `mask:"true"` (secrets, tokens, DSNs with passwords) are shown as "***" when set.
func Masked(cfg any) map[string]string {
	out := map[string]string{}
	walk(reflect.ValueOf(cfg), "", out)
	return out
}

func walk(v reflect.Value, prefix string, out map[string]string) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		name := f.Tag.Get("env")
		if name == "" || (fv.Kind() == reflect.Struct && !isScalarStruct(fv)) {
			walk(fv, prefix+f.Tag.Get("envPrefix"), out)
			continue
		}
		name = prefix + strings.Split(name, ",")[0]
		val := fmt.Sprint(fv.Interface())
		if f.Tag.Get("mask") == "true" && !fv.IsZero() {
			val = "***"
		}
		out[name] = val
	}
}

// isScalarStruct reports struct types that print as one value (time.Time and friends).
func isScalarStruct(v reflect.Value) bool {
	_, ok := v.Interface().(fmt.Stringer)
	return ok
}
