package route

// Table evaluates a validated File's routes against events.
type Table struct {
	routes []Rule
}

// NewTable returns the routing table of a validated file.
func NewTable(f *File) *Table { return &Table{routes: f.Routes} }

// Match returns the sink names that receive the event (decoded as generic JSON),
// each once, in the order routes first name them. Nil means no route matched.
func (t *Table) Match(doc map[string]any) []string {
	return t.MatchEvent(&Event{doc: doc, decoded: true})
}

// MatchEvent is Match for an event the caller already decoded (NewEvent).
func (t *Table) MatchEvent(ev *Event) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range t.routes {
		if !r.Match.match(ev) {
			continue
		}
		for _, s := range r.To {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}
