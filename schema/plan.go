package schema

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// PlanChanges plans the changes inferred needs on a table whose columns are
// existing (none: the table does not exist), under ev.
//
// existing must be in table order (DESC TABLE order, or
// INFORMATION_SCHEMA.COLUMNS by ORDINAL_POSITION). Existing columns are
// mapped to paths by their comments (the path, as AppendCreateTable and
// Plan.AppendSQL write them; a later column with the comment of an earlier
// one is a fallback column of that path), then by a saved mapping, then by
// name (a column named Normalize(path)); a path keeps its column across
// batches.
// A new path gets a new nullable column named by a Namer loaded with that
// mapping, unless it lies below an existing VARIANT column (a wide object
// kept whole by an earlier batch): then its values go into that column
// (Route, AppendSubtree), so a wide object does not turn back into columns.
// A type the column cannot take is widened in place when Snowflake
// allows it, and otherwise gets a fallback column NAME__V_TYPE (VARIANT if
// that one cannot take it either), which takes the values the original
// column cannot; nothing fails to load.
//
// Every change a batch needs (a new column, a widening, a fallback column)
// goes through one decision by the path's Mode: under Evolve it is made;
// under Freeze it fails the plan with a *FrozenError listing it; under
// DiscardRow and DiscardValue it is listed in Plan.Rejected, with the same
// Reason the Change would have had, and Plan.Filter discards the records or
// values concerned.
func PlanChanges(existing []ExistingColumn, inferred Table, ev Evolution, o PlanOptions) (*Plan, error) {
	pl, err := newPlanner(inferred, ev, o)
	if err != nil {
		return nil, err
	}
	if len(existing) == 0 {
		if err := pl.p.planCreate(inferred, ev, pl.namer); err != nil {
			return nil, err
		}
		return pl.p, nil
	}
	if err := pl.mapExisting(existing); err != nil {
		return nil, err
	}
	pl.routeExisting()
	for _, c := range inferred.Columns {
		if _, ok := pl.byName[c.Name]; c.System && !ok {
			pl.add(c, "system column", "") // a system column the table lacks
		}
	}
	pl.namer.NameAll(pl.paths)
	for _, c := range inferred.Columns {
		if !c.System {
			pl.planColumn(c)
		}
	}
	if len(pl.frozen) > 0 {
		return nil, &FrozenError{Table: inferred.Name, Changes: pl.frozen}
	}
	p := pl.p
	p.Changes = pl.changes
	p.Collisions = pl.namer.Collisions()
	p.mappings = pl.namer.Mappings()
	return p, nil
}

// planner holds the state of one PlanChanges call.
type planner struct {
	p        *Plan
	ev       Evolution
	names    NameOptions
	namer    *Namer
	system   []string // names of the inferred system columns
	paths    []string // the inferred paths, sorted
	existing []ExistingColumn
	byName   map[string]int // existing column name → index
	mapped   []bool         // existing column holds a known path
	firstOf  map[string]int // comment → first column with it
	changes  []Change
	frozen   []Change
}

func newPlanner(inferred Table, ev Evolution, o PlanOptions) (*planner, error) {
	if o.Separator == "" {
		o.Separator = "."
	}
	o.Names.Separator = o.Separator
	names, err := o.Names.withDefaults()
	if err != nil {
		return nil, err
	}
	pl := &planner{ev: ev, names: names, byName: map[string]int{}, firstOf: map[string]int{}}
	pl.p = &Plan{Table: inferred.Name, sep: []byte(o.Separator), evolution: ev,
		routes: map[string][]int{}, subtrees: map[string]int{}, rejected: map[string]int{}}
	for _, c := range inferred.Columns {
		if c.System {
			pl.system = append(pl.system, c.Name)
		} else {
			pl.paths = append(pl.paths, c.Path)
		}
	}
	slices.Sort(pl.paths)
	if pl.namer, err = NewNamer(names, pl.system...); err != nil {
		return nil, err
	}
	if err := pl.namer.Load(o.Mappings); err != nil {
		return nil, fmt.Errorf("table %s: %w", inferred.Name, err)
	}
	return pl, nil
}

// isFallbackAt reports whether existing column i carries the comment of an
// earlier column: a fallback column of that path (ADD COLUMN appends, so
// the original comes first in table order).
func (pl *planner) isFallbackAt(i int) bool {
	j, ok := pl.firstOf[pl.existing[i].Comment]
	return ok && j < i
}

// mapExisting maps the existing columns to paths: by comment first, then by
// the saved mapping, then by name (an uncommented column named as a path
// normalizes; the smallest such path wins).
func (pl *planner) mapExisting(existing []ExistingColumn) error {
	p, namer := pl.p, pl.namer
	pl.existing = existing
	pl.mapped = make([]bool, len(existing))
	for i, e := range existing {
		pl.byName[e.Name] = i
		sys := slices.Contains(pl.system, e.Name)
		p.Columns = append(p.Columns, Column{Name: e.Name, Path: e.Comment, Type: e.Type, Nullable: e.Nullable, System: sys})
		pl.mapped[i] = e.Comment != "" && !sys
		if _, ok := pl.firstOf[e.Comment]; !ok && e.Comment != "" {
			pl.firstOf[e.Comment] = i
		}
	}
	var ms []Mapping
	for i, e := range existing {
		if e.Comment != "" && !pl.isFallbackAt(i) {
			ms = append(ms, Mapping{Path: e.Comment, Name: e.Name})
		}
	}
	if err := namer.Load(ms); err != nil {
		return fmt.Errorf("table %s: %w", p.Table, err)
	}
	for i, e := range existing {
		if path, ok := namer.byName[e.Name]; ok && !pl.mapped[i] && !p.Columns[i].System {
			p.Columns[i].Path = path
			pl.mapped[i] = true
		}
	}
	var buf []byte
	for _, path := range pl.paths {
		if _, ok := namer.Lookup([]byte(path)); ok {
			continue
		}
		buf = Normalize(buf[:0], path, pl.names)
		if i, ok := pl.byName[string(buf)]; ok && existing[i].Comment == "" {
			if _, taken := namer.byName[existing[i].Name]; !taken {
				if err := namer.Load([]Mapping{{Path: path, Name: existing[i].Name}}); err == nil {
					p.Columns[i].Path = path
					pl.mapped[i] = true
				}
			}
		}
	}
	// Names of existing columns holding no path are never given to one.
	for i, e := range existing {
		if !pl.mapped[i] || pl.isFallbackAt(i) {
			namer.reserved[e.Name] = true
		}
	}
	return nil
}

// routeExisting routes each mapped path to its column, then its fallbacks.
func (pl *planner) routeExisting() {
	p := pl.p
	for i, c := range p.Columns {
		if !pl.mapped[i] {
			continue
		}
		if name, ok := pl.namer.Lookup([]byte(c.Path)); ok && name == c.Name {
			p.routes[c.Path] = append([]int{i}, p.routes[c.Path]...)
			if c.Type.Kind == Variant {
				p.subtrees[c.Path] = i // new paths below it go into it
				p.Columns[i].Subtree = true
			}
		} else if pl.isFallbackAt(i) {
			p.routes[c.Path] = append(p.routes[c.Path], i)
		}
	}
}

// decide applies the mode of path to a change the batch needs: under Evolve
// it calls apply and lists the change; under Freeze it collects it for the
// *FrozenError; under DiscardRow and DiscardValue it rejects the path with
// the change's reason. It is the only place modes are decided. System
// columns are added under every mode but Freeze.
func (pl *planner) decide(ch Change, path string, need Type, apply func()) {
	m := pl.ev.mode(path)
	if ch.Column.System && m != Freeze {
		m = Evolve
	}
	switch m {
	case Evolve:
		apply()
		pl.changes = append(pl.changes, ch)
	case Freeze:
		pl.frozen = append(pl.frozen, ch)
	default:
		pl.p.rejected[path] = len(pl.p.Rejected)
		pl.p.Rejected = append(pl.p.Rejected, Rejection{Path: path, Mode: m, Type: need, Reason: ch.Reason})
	}
}

// add plans a new column c for path.
func (pl *planner) add(c Column, reason, path string) {
	if c.System {
		reason = "system column"
	}
	c.Nullable = !c.System
	ch := Change{Kind: ChangeAdd, Column: c, Reason: reason}
	pl.decide(ch, path, c.Type, func() {
		p := pl.p
		p.Columns = append(p.Columns, c)
		if !c.System {
			p.routes[path] = append(p.routes[path], len(p.Columns)-1)
		}
	})
}

// widen plans widening column i in place to nt for the values of c.
func (pl *planner) widen(i int, nt Type, c Column, reason string) {
	col := pl.p.Columns[i]
	ch := Change{Kind: ChangeWiden, From: col.Type, Reason: reason}
	col.Type = nt
	ch.Column = col
	pl.decide(ch, c.Path, c.Type, func() { pl.p.Columns[i] = col })
}

// planColumn plans what one inferred column needs: nothing, a new column, a
// widening of its column or of a fallback column, or a new fallback column.
func (pl *planner) planColumn(c Column) {
	p := pl.p
	route := p.routes[c.Path]
	if len(route) == 0 {
		if _, ok := p.subtreeOf([]byte(c.Path)); ok {
			return // below an existing VARIANT column: kept in it
		}
		c.Name = pl.namer.Name(c.Path)
		pl.add(c, "new path", c.Path)
		if r := p.routes[c.Path]; c.Subtree && len(r) > 0 {
			p.subtrees[c.Path] = r[0]
		}
		return
	}
	if c.Subtree {
		p.subtrees[c.Path] = route[0]
	}
	if slices.ContainsFunc(route, func(i int) bool { return fits(p.Columns[i].Type, c) }) {
		return
	}
	if nt, ok := widenInPlace(p.Columns[route[0]].Type, c); ok {
		pl.widen(route[0], nt, c, "values too long or too large for "+p.Columns[route[0]].Type.String())
		return
	}
	// A fallback column of this path widened in place, or a new one.
	reason := fmt.Sprintf("%v cannot take %v (a type change Snowflake does not make in place)", p.Columns[route[0]].Type, c.Type)
	for _, i := range route[1:] {
		if nt, ok := widenInPlace(p.Columns[i].Type, c); ok {
			pl.widen(i, nt, c, reason)
			return
		}
	}
	pl.addFallback(c, p.Columns[route[0]].Name, reason)
}

// addFallback plans a fallback column for c next to the column named orig:
// NAME__V_TYPE, or NAME__V_VARIANT (numbered if need be) when that is taken.
func (pl *planner) addFallback(c Column, orig, reason string) {
	fb := c
	fb.Subtree = false
	taken := func(name string) bool {
		return pl.namer.taken(name) || slices.ContainsFunc(pl.p.Columns, func(x Column) bool { return x.Name == name })
	}
	fb.Name = fallbackName(orig, c.Type.Kind, pl.names.MaxLength)
	if taken(fb.Name) {
		fb.Type = Type{Kind: Variant}
		base := fallbackName(orig, Variant, pl.names.MaxLength-4)
		fb.Name = base
		for k := 2; taken(fb.Name); k++ {
			fb.Name = base + "_" + strconv.Itoa(k)
		}
	}
	pl.namer.reserved[fb.Name] = true
	pl.add(fb, reason, c.Path)
}

func (p *Plan) planCreate(t Table, ev Evolution, namer *Namer) error {
	switch ev.Mode {
	case Freeze:
		return &FrozenError{Table: t.Name, Changes: []Change{{Kind: ChangeCreate, Reason: "new table"}}}
	case DiscardRow, DiscardValue:
		p.dropAll = "table " + t.Name + " does not exist and its evolution mode is " + ev.Mode.String()
		p.Rejected = append(p.Rejected, Rejection{Mode: ev.Mode, Reason: p.dropAll})
		return nil
	}
	p.Create = true
	p.Columns = slices.Clone(t.Columns)
	p.Changes = []Change{{Kind: ChangeCreate, Reason: "new table"}}
	p.Collisions = t.Collisions
	if len(namer.byPath) > 0 { // a saved mapping: name the columns by it
		var paths []string
		for _, c := range p.Columns {
			if !c.System {
				paths = append(paths, c.Path)
			}
		}
		namer.NameAll(paths)
		for i, c := range p.Columns {
			if !c.System {
				p.Columns[i].Name = namer.Name(c.Path)
			}
		}
		p.Collisions = namer.Collisions()
	}
	for _, c := range p.Columns {
		if !c.System {
			p.mappings = append(p.mappings, Mapping{Path: c.Path, Name: c.Name})
		}
	}
	slices.SortFunc(p.mappings, func(a, b Mapping) int { return strings.Compare(a.Path, b.Path) })
	for i, c := range p.Columns {
		if c.System {
			continue
		}
		p.routes[c.Path] = append(p.routes[c.Path], i)
		if c.Subtree {
			p.subtrees[c.Path] = i
		}
	}
	return nil
}
