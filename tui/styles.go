package tui

import "github.com/charmbracelet/lipgloss"

// Styles decorate the text; every meaning is also in the text itself
// ("DOWN", the ">" of the selected row, "[Links]" for the current pane,
// "SNAT" beside a translated address),
// so the UI reads the same without colour.
type Styles struct {
	Title    lipgloss.Style
	Header   lipgloss.Style
	Selected lipgloss.Style
	Down     lipgloss.Style
	Drift    lipgloss.Style
	OK       lipgloss.Style
	Error    lipgloss.Style
	Tab      lipgloss.Style
	TabOn    lipgloss.Style
	Faint    lipgloss.Style
	// NAT marks translated addresses; the text says SNAT, DNAT or NAT
	// beside them.
	NAT lipgloss.Style
}

// DefaultStyles are the styles of a colour terminal.
func DefaultStyles() Styles {
	return Styles{
		Title:    lipgloss.NewStyle().Bold(true),
		Header:   lipgloss.NewStyle().Bold(true).Underline(true),
		Selected: lipgloss.NewStyle().Reverse(true),
		Down:     lipgloss.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
		Drift:    lipgloss.NewStyle().Foreground(lipgloss.Color("3")).Bold(true),
		OK:       lipgloss.NewStyle().Foreground(lipgloss.Color("2")),
		Error:    lipgloss.NewStyle().Foreground(lipgloss.Color("1")),
		Tab:      lipgloss.NewStyle().Faint(true),
		TabOn:    lipgloss.NewStyle().Bold(true),
		Faint:    lipgloss.NewStyle().Faint(true),
		NAT:      lipgloss.NewStyle().Foreground(lipgloss.Color("5")).Bold(true),
	}
}
