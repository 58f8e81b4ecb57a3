package sparkline

import "testing"

func TestGraph(t *testing.T) {
	tests := []struct {
		name string
		vals []float64
		w    int
		want string
	}{
		{"empty", nil, 4, "    "},
		{"flat", []float64{3, 3, 3}, 3, "▁▁▁"},
		{"ramp", []float64{0, 1, 2, 3, 4, 5, 6, 7}, 8, "▁▂▃▄▅▆▇█"},
		{"padded", []float64{0, 7}, 4, "  ▁█"},
		{"last values only", []float64{100, 0, 7}, 2, "▁█"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New(8)
			m.SetSize(tc.w, 1)
			for _, v := range tc.vals {
				m.Push(v)
			}
			if got := m.Graph(); got != tc.want {
				t.Errorf("Graph() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPushDropsOldest(t *testing.T) {
	m := New(2)
	for _, v := range []float64{1, 2, 3} {
		m.Push(v)
	}
	if got := m.Values(); len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Errorf("Values() = %v, want [2 3]", got)
	}
}

func TestViewLabels(t *testing.T) {
	m := New(4)
	m.Push(1.5)
	m.Push(10)
	if got, want := m.View(), "  ▁█ min 1.5 max 10"; got != want {
		t.Errorf("View() = %q, want %q", got, want)
	}
}
