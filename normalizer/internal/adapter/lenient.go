package adapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"

	jsonv1 "github.com/go-json-experiment/json/v1"
)

// decodeLenient unmarshals JSON data into v (a pointer to a payload struct or
// slice) like encoding/json, except that a field whose JSON type does not fit
// its Go type ([] or "" where an object is documented, an object where a string
// or an array is) is left at its zero value and its path is returned instead
// of failing the whole document. Paths are JSON names joined by "." with "[]"
// for array elements ("payment", "packages[].driver"). It returns an error
// only when data is not JSON (a *json.SyntaxError) or the document itself has
// the wrong kind for v (an array where an object belongs).
//
// The common case costs one decode by fastUnmarshal; encoding/json decodes
// only a body that one refuses (its result stands, and its error names the
// fault), and the field-by-field walk runs only when encoding/json refuses too.
func decodeLenient(data []byte, v any) (dropped []string, err error) {
	if fastUnmarshal(data, v) == nil {
		return nil, nil
	}
	rv := reflect.ValueOf(v).Elem()
	rv.Set(reflect.Zero(rv.Type()))
	err = json.Unmarshal(data, v)
	if err == nil {
		return nil, nil
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return nil, err
	}
	rv.Set(reflect.Zero(rv.Type()))
	var l lenient
	if !l.value(bytes.TrimSpace(data), rv, "") {
		rv.Set(reflect.Zero(rv.Type()))
		return nil, err
	}
	return l.dropped, nil
}

// fastUnmarshal is decodeLenient's first try: encoding/json's v1 semantics on
// the encoding/json/v2 decoder (github.com/go-json-experiment/json/v1, what the
// standard library runs under GOEXPERIMENT=jsonv2), about twice as fast as
// encoding/json with a fraction of its allocations. Whatever it accepts,
// encoding/json accepts with the same result (TestDecodeLenient_sameAsEncodingJSON
// over every fixture, damaged every way the mutation tests know).
var fastUnmarshal = jsonv1.Unmarshal

// lenient collects the dropped paths of one walk.
type lenient struct{ dropped []string }

var unmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()

// drop records path once.
func (l *lenient) drop(path string) {
	for _, p := range l.dropped {
		if p == path {
			return
		}
	}
	l.dropped = append(l.dropped, path)
}

// value decodes raw into v, reporting whether raw fitted v's type. A misfit is
// recorded under path and leaves v zero.
func (l *lenient) value(raw []byte, v reflect.Value, path string) bool {
	if len(raw) == 0 || string(raw) == "null" {
		return true
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		if err := v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(raw); err != nil {
			v.Set(reflect.Zero(v.Type()))
			l.drop(path)
			return false
		}
		return true
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		if !l.value(raw, elem.Elem(), path) {
			return false
		}
		v.Set(elem)
		return true
	case reflect.Struct:
		if raw[0] != '{' {
			l.drop(path)
			return false
		}
		return l.object(raw, v, path)
	case reflect.Slice:
		if raw[0] != '[' {
			l.drop(path)
			return false
		}
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil {
			l.drop(path)
			return false
		}
		s := reflect.MakeSlice(v.Type(), len(elems), len(elems))
		for i, e := range elems {
			l.value(bytes.TrimSpace(e), s.Index(i), path+"[]")
		}
		v.Set(s)
		return true
	default:
		if err := json.Unmarshal(raw, v.Addr().Interface()); err != nil {
			v.Set(reflect.Zero(v.Type()))
			l.drop(path)
			return false
		}
		return true
	}
}

// object decodes a JSON object into struct v key by key, matching keys to
// fields as encoding/json does (exact name first, then case-insensitively;
// the last duplicate key wins).
func (l *lenient) object(raw []byte, v reflect.Value, path string) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // '{'
		l.drop(path)
		return false
	}
	fields := structFields(v.Type())
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return true
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return true
		}
		f, ok := fields.byName[key]
		if !ok {
			f, ok = fields.byFold[strings.ToLower(key)]
		}
		if !ok {
			continue
		}
		fv := v.Field(f.index)
		fv.Set(reflect.Zero(fv.Type())) // a later duplicate key replaces an earlier one
		l.value(bytes.TrimSpace(val), fv, joinPath(path, f.name))
	}
	return true
}

// joinPath appends a member name to a path.
func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// fieldInfo is one decodable struct field.
type fieldInfo struct {
	name  string
	index int
}

// fieldSet indexes a struct's decodable fields by JSON name.
type fieldSet struct {
	byName map[string]fieldInfo
	byFold map[string]fieldInfo
}

var fieldCache sync.Map // reflect.Type -> fieldSet

// structFields returns the exported fields of t by JSON name (tag name, else
// the Go name), skipping `json:"-"`.
func structFields(t reflect.Type) fieldSet {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.(fieldSet)
	}
	fs := fieldSet{byName: map[string]fieldInfo{}, byFold: map[string]fieldInfo{}}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		fi := fieldInfo{name: name, index: i}
		fs.byName[name] = fi
		if _, dup := fs.byFold[strings.ToLower(name)]; !dup {
			fs.byFold[strings.ToLower(name)] = fi
		}
	}
	fieldCache.Store(t, fs)
	return fs
}
