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
	Help             key.Binding
	Quit             key.Binding
}

// DefaultKeyMap is the key map of the issue: arrows or j/k to move, Tab
// between panes, / to filter, Enter for detail, c for checks, ? for help,
// q to quit.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", " "), key.WithHelp("pgdn", "page down")),
		NextPane: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "pane")),
		PrevPane: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("S-tab", "previous pane")),
		Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Detail:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Plan:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "plan")),
		Checks:   key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "checks")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp is the footer line.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.NextPane, k.Filter, k.Detail, k.Checks, k.Plan, k.Help, k.Quit}
}

// FullHelp is the ? page.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown},
		{k.NextPane, k.PrevPane, k.Filter, k.Detail, k.Back},
		{k.Checks, k.Plan, k.Help, k.Quit},
	}
}
