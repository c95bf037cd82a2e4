package route

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/courierhook/pipeline/schemas/shipment"
)

// Expr is one node of a match expression. Exactly one of its forms is set:
//
//	all: [Expr, ...]          every child matches
//	any: [Expr, ...]          at least one child matches
//	not: Expr                 the child does not match
//	always: true              every event
//	status: Cond              shorthand for field: data.status
//	sub_status: Cond          shorthand for field: data.sub_status
//	provider: Cond            shorthand for field: data.provider
//	service_type: Cond        shorthand for field: data.service_type
//	field: path + Cond keys   any field of the canonical event ("data.courier.company")
//
// A Cond is a scalar (equals), a list (in) or a mapping with one of equals, in,
// exists, prefix. Field paths are dot-separated JSON names of the canonical event
// envelope, so "data.terminal" and "source" both work.
type Expr struct {
	All         []*Expr `yaml:"all"`
	Any         []*Expr `yaml:"any"`
	Not         *Expr   `yaml:"not"`
	Always      bool    `yaml:"always"`
	Status      *Cond   `yaml:"status"`
	SubStatus   *Cond   `yaml:"sub_status"`
	Provider    *Cond   `yaml:"provider"`
	ServiceType *Cond   `yaml:"service_type"`
	Field       string  `yaml:"field"`
	// Equals, In, Exists and Prefix are the Cond of the field form. They are
	// spelled out rather than embedding Cond because yaml.v3 would hand the whole
	// node to Cond's UnmarshalYAML.
	Equals any    `yaml:"equals"`
	In     []any  `yaml:"in"`
	Exists *bool  `yaml:"exists"`
	Prefix string `yaml:"prefix"`
}

func (e *Expr) cond() Cond {
	return Cond{Equals: e.Equals, In: e.In, Exists: e.Exists, Prefix: e.Prefix}
}

// Cond is a leaf test on one field's value.
type Cond struct {
	// Equals matches a field whose value equals this scalar.
	Equals any `yaml:"equals"`
	// In matches a field whose value equals one of these scalars.
	In []any `yaml:"in"`
	// Exists matches a present, non-null, non-empty field (true) or its absence (false).
	Exists *bool `yaml:"exists"`
	// Prefix matches a string field starting with this text.
	Prefix string `yaml:"prefix"`
}

// UnmarshalYAML accepts the shorthands: a scalar means equals, a sequence means in.
func (c *Cond) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return err
		}
		c.Equals = v
		return nil
	case yaml.SequenceNode:
		return n.Decode(&c.In)
	case yaml.MappingNode:
		type plain Cond
		var p plain
		if err := decodeStrict(n, &p); err != nil {
			return err
		}
		*c = Cond(p)
		return nil
	}
	return fmt.Errorf("line %d: want a value, a list or a mapping with equals/in/exists/prefix", n.Line)
}

// decodeStrict decodes a mapping node rejecting keys the target does not have;
// yaml.v3's KnownFields does not reach into custom unmarshalers.
func decodeStrict(n *yaml.Node, out any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	return nil
}

func (c Cond) ops() int {
	n := 0
	if c.Equals != nil {
		n++
	}
	if c.In != nil {
		n++
	}
	if c.Exists != nil {
		n++
	}
	if c.Prefix != "" {
		n++
	}
	return n
}

// shorthands maps the named leaf forms to field paths and their allowed values.
var shorthands = []struct {
	key, path string
	get       func(*Expr) *Cond
	valid     func(string) bool
	allowed   string
}{
	{"status", "data.status", func(e *Expr) *Cond { return e.Status }, func(s string) bool { return shipment.Status(s).Valid() }, statusList()},
	{"sub_status", "data.sub_status", func(e *Expr) *Cond { return e.SubStatus }, nil, ""},
	{"provider", "data.provider", func(e *Expr) *Cond { return e.Provider }, nil, ""},
	{"service_type", "data.service_type", func(e *Expr) *Cond { return e.ServiceType }, validServiceType, "instant, same_day, express, logistic, unknown"},
}

func statusList() string {
	s := make([]string, len(shipment.Statuses))
	for i, v := range shipment.Statuses {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

func validServiceType(s string) bool {
	switch shipment.ServiceType(s) {
	case shipment.ServiceInstant, shipment.ServiceSameDay, shipment.ServiceExpress, shipment.ServiceLogistic, shipment.ServiceUnknown:
		return true
	}
	return false
}

func (e *Expr) validate() error {
	if e == nil {
		return errors.New("empty expression")
	}
	forms := 0
	var errs []error
	if e.All != nil {
		forms++
		if len(e.All) == 0 {
			errs = append(errs, errors.New("all: needs at least one expression"))
		}
		for i, c := range e.All {
			if err := c.validate(); err != nil {
				errs = append(errs, fmt.Errorf("all[%d]: %w", i, err))
			}
		}
	}
	if e.Any != nil {
		forms++
		if len(e.Any) == 0 {
			errs = append(errs, errors.New("any: needs at least one expression"))
		}
		for i, c := range e.Any {
			if err := c.validate(); err != nil {
				errs = append(errs, fmt.Errorf("any[%d]: %w", i, err))
			}
		}
	}
	if e.Not != nil {
		forms++
		if err := e.Not.validate(); err != nil {
			errs = append(errs, fmt.Errorf("not: %w", err))
		}
	}
	if e.Always {
		forms++
	}
	for _, sh := range shorthands {
		c := sh.get(e)
		if c == nil {
			continue
		}
		forms++
		if err := c.validate(sh.key); err != nil {
			errs = append(errs, err)
			continue
		}
		if sh.valid != nil {
			for _, v := range c.values() {
				if s, ok := v.(string); !ok || !sh.valid(s) {
					errs = append(errs, fmt.Errorf("%s: bad value %v (want one of %s)", sh.key, v, sh.allowed))
				}
			}
		}
	}
	if e.Field != "" {
		forms++
		if err := e.cond().validate("field " + e.Field); err != nil {
			errs = append(errs, err)
		}
		if strings.HasPrefix(e.Field, ".") || strings.HasSuffix(e.Field, ".") || strings.Contains(e.Field, "..") {
			errs = append(errs, fmt.Errorf("field %q: bad path (want dot-separated names like data.courier.company)", e.Field))
		}
	} else if e.cond().ops() > 0 {
		errs = append(errs, errors.New("equals/in/exists/prefix need a `field:` (or use status:, provider:, ...)"))
	}
	switch {
	case forms == 0 && len(errs) == 0:
		errs = append(errs, errors.New("empty expression: want one of all, any, not, always, status, sub_status, provider, service_type, field"))
	case forms > 1:
		errs = append(errs, errors.New("one form per expression: wrap several tests in all: or any:"))
	}
	return errors.Join(errs...)
}

func (c Cond) validate(what string) error {
	switch c.ops() {
	case 0:
		return fmt.Errorf("%s: needs one of equals, in, exists, prefix", what)
	case 1:
	default:
		return fmt.Errorf("%s: one of equals, in, exists, prefix, not several", what)
	}
	if c.In != nil && len(c.In) == 0 {
		return fmt.Errorf("%s: in: empty list", what)
	}
	for _, v := range c.values() {
		switch v.(type) {
		case string, bool, int, int64, uint64, float64:
		default:
			return fmt.Errorf("%s: value %v is not a scalar", what, v)
		}
	}
	return nil
}

func (c Cond) values() []any {
	if c.Equals != nil {
		return []any{c.Equals}
	}
	return c.In
}

// Match reports whether the event, decoded as generic JSON (map[string]any),
// satisfies the expression.
func (e *Expr) Match(doc map[string]any) bool {
	return e.match(&Event{doc: doc, decoded: true})
}

func (e *Expr) match(ev *Event) bool {
	switch {
	case e.All != nil:
		for _, c := range e.All {
			if !c.match(ev) {
				return false
			}
		}
		return true
	case e.Any != nil:
		for _, c := range e.Any {
			if c.match(ev) {
				return true
			}
		}
		return false
	case e.Not != nil:
		return !e.Not.match(ev)
	case e.Always:
		return true
	}
	for _, sh := range shorthands {
		if c := sh.get(e); c != nil {
			return c.test(ev.lookup(sh.path))
		}
	}
	return e.cond().test(ev.lookup(e.Field))
}

func (c Cond) test(v any, found bool) bool {
	present := found && v != nil && v != ""
	switch {
	case c.Exists != nil:
		return present == *c.Exists
	case !present:
		return false
	case c.Prefix != "":
		s, ok := v.(string)
		return ok && strings.HasPrefix(s, c.Prefix)
	}
	got := scalarKey(v)
	for _, want := range c.values() {
		if scalarKey(want) == got {
			return true
		}
	}
	return false
}

// scalarKey renders a JSON or YAML scalar with its type, so that 1 (YAML int)
// equals 1 (JSON number) but "true" does not equal true.
func scalarKey(v any) string {
	switch x := v.(type) {
	case string:
		return "s:" + x
	case bool:
		return "b:" + strconv.FormatBool(x)
	case int:
		return "n:" + strconv.FormatFloat(float64(x), 'g', -1, 64)
	case int64:
		return "n:" + strconv.FormatFloat(float64(x), 'g', -1, 64)
	case uint64:
		return "n:" + strconv.FormatFloat(float64(x), 'g', -1, 64)
	case float64:
		return "n:" + strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprintf("?:%v", v)
}

func lookupPath(doc map[string]any, path string) (any, bool) {
	var cur any = doc
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}
