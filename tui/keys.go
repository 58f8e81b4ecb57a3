package tui

import "github.com/charmbracelet/bubbles/key"

// KeyMap is every key the UI answers to. It is passed around, never
// changed at run time.
type KeyMap struct {
	Up, Down         key.Binding
	PageUp, PageDown key.Binding
	NextPane         key.Binding
	PrevPane         key.Binding
	Filter           key.Binding
	Detail           key.Binding
	Back             key.Binding
	Plan             key.Binding
	Checks           key.Binding
	Trace            key.Binding
	Conntrack        key.Binding
	Reread           key.Binding
	Help             key.Binding
	Quit             key.Binding
}

// DefaultKeyMap is the key map of the issue: arrows or j/k to move, Tab
// between panes, / to filter, Enter for detail, c for checks, t to trace
// a probe from the selected node, n for its conntrack table, ? for help,
// q to quit.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:      key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:    key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown:  key.NewBinding(key.WithKeys("pgdown", " "), key.WithHelp("pgdn", "page down")),
		NextPane:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "pane")),
		PrevPane:  key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("S-tab", "previous pane")),
		Filter:    key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Detail:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
		Back:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Plan:      key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "plan")),
		Checks:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "checks")),
		Trace:     key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "trace")),
		Conntrack: key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "conntrack")),
		Reread:    key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "read all now")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:      key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp is the footer line under the panes. It fits 80 columns: Tab
// is named on the tabs line, p on the drift line when there is drift to
// show, and ? lists every key.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Filter, k.Detail, k.Checks, k.Trace, k.Conntrack, k.Help, k.Quit}
}

// pageHelp is the footer line of a page: the keys that page answers.
func (k KeyMap) pageHelp(kind pageKind, typing bool) []key.Binding {
	back := key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back"))
	scroll := key.NewBinding(key.WithKeys("j", "k"), key.WithHelp("j/k", "scroll"))
	switch {
	case kind == pageTrace && typing:
		return []key.Binding{
			key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "run the trace")),
			back,
			key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
		}
	case kind == pageTrace:
		return []key.Binding{
			key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "new target")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel / back")),
			scroll, k.Quit,
		}
	case kind == pageConntrack:
		return []key.Binding{back, scroll, k.Quit}
	}
	return k.ShortHelp()
}

// FullHelp is the ? page.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown},
		{k.NextPane, k.PrevPane, k.Filter, k.Detail, k.Back},
		{k.Checks, k.Trace, k.Conntrack, k.Plan, k.Reread, k.Help, k.Quit},
	}
}
