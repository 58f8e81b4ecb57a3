package render

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"netlab/lab"
	"netlab/lab/device"
)

// The drawing uses one monospace font, so a label's width is its length
// times a fixed advance: 0.61 em covers DejaVu Sans Mono, Menlo and
// Consolas (0.60 em) with a little room.
const (
	fontSize   = 12.0
	titleSize  = 14.0
	charWidth  = 0.61 // of the font size
	rowHeight  = 20.0
	headHeight = 28.0
	padX       = 14.0
	indentStep = 18.0
	portSize   = 8.0
	columnGap  = 130.0
	nodeGap    = 26.0
	margin     = 24.0
)

func textWidth(s string, size float64) float64 {
	return float64(len([]rune(s))) * size * charWidth
}

// row is one line inside a node box: an interface, or a note (a route, a
// NAT or filter summary).
type row struct {
	iface  *lab.Interface
	text   string
	indent int
	note   bool
	ports  int // portLeft | portRight: the edges its lines leave from
	y      float64
}

// box is a node as drawn.
type box struct {
	node       *lab.Node
	rows       []row
	w, h, x, y float64
	layer      int
	order      float64
}

func (b *box) center() float64 { return b.y + b.h/2 }

// rowOf returns the row of an interface.
func (b *box) rowOf(i *lab.Interface) *row {
	for k := range b.rows {
		if b.rows[k].iface == i {
			return &b.rows[k]
		}
	}
	return nil
}

// newBox lays out the rows of a node: interfaces in file order, each
// bridge followed by its ports and each interface by the MACVLANs on it,
// indented; then the node's notes.
func newBox(n *lab.Node) *box {
	b := &box{node: n}
	child := func(i *lab.Interface) bool {
		if i.Master != "" && n.Interface(i.Master) != nil {
			return true
		}
		return i.Kind == device.MACVLAN && i.MACVLAN != nil && i.MACVLAN.ParentNode == n.Name && n.Interface(i.MACVLAN.Parent) != nil && i.MACVLAN.Parent != i.Name
	}
	seen := make(map[*lab.Interface]bool)
	var add func(i *lab.Interface, indent int)
	add = func(i *lab.Interface, indent int) {
		if seen[i] {
			return
		}
		seen[i] = true
		text := ifaceText(i)
		if a := addrTexts(i); len(a) > 0 {
			text += "  " + strings.Join(a, " ")
		}
		b.rows = append(b.rows, row{iface: i, text: text, indent: indent})
		for _, c := range n.Interfaces {
			if c.Master == i.Name || (c.Kind == device.MACVLAN && c.MACVLAN != nil && c.MACVLAN.ParentNode == n.Name && c.MACVLAN.Parent == i.Name) {
				add(c, indent+1)
			}
		}
	}
	for _, i := range n.Interfaces {
		if !child(i) {
			add(i, 0)
		}
	}
	for _, i := range n.Interfaces {
		add(i, 0) // a cycle of masters (invalid) still shows every interface
	}
	for _, s := range notes(n) {
		b.rows = append(b.rows, row{text: s, note: true})
	}
	head := n.Name
	if n.Host {
		head += " (host)"
	}
	b.w = textWidth(head, titleSize) + 2*padX
	b.h = headHeight
	for k := range b.rows {
		r := &b.rows[k]
		r.y = b.h
		b.h += rowHeight
		w := textWidth(r.text, fontSize) + 2*padX + float64(r.indent)*indentStep
		if r.iface != nil && r.iface.Kind == device.Bridge {
			w += 8
		}
		b.w = max(b.w, w)
	}
	if len(b.rows) > 0 {
		b.h += 6
	}
	b.w = math.Ceil(b.w)
	return b
}

// layout places the boxes in columns: each connected group of nodes is
// laid out in breadth-first layers from its most central node, so that
// every line joins neighbouring columns or stays in one; the order within
// a column follows the neighbours (barycentres); each box is then moved
// level with its neighbours as far as the boxes above it allow. Groups
// are stacked top to bottom. It is deterministic: ties go to file order.
func layout(boxes []*box, es []edge, top float64) {
	idx := make(map[string]int, len(boxes))
	for k, b := range boxes {
		idx[b.node.Name] = k
	}
	adj := make([][]int, len(boxes))
	for _, e := range es {
		a, b := idx[e.A.Node], idx[e.B.Node]
		if a != b && !slices.Contains(adj[a], b) {
			adj[a] = append(adj[a], b)
			adj[b] = append(adj[b], a)
		}
	}
	for k := range adj {
		slices.Sort(adj[k])
	}
	placed := make([]bool, len(boxes))
	for {
		// The root is the most central node of the group (fewest hops
		// to the farthest one), the most connected among those: the
		// layout is then as narrow as it can be.
		first := slices.Index(placed, false)
		if first < 0 {
			return
		}
		root, best := first, -1
		for k, d := range hops(adj, first) {
			if d < 0 {
				continue // another group
			}
			ecc := eccentricity(adj, k)
			if best < 0 || ecc < best || (ecc == best && len(adj[k]) > len(adj[root])) {
				root, best = k, ecc
			}
		}
		// Breadth-first layers.
		var layers [][]int
		boxes[root].layer = 0
		placed[root] = true
		queue := []int{root}
		for len(queue) > 0 {
			k := queue[0]
			queue = queue[1:]
			L := boxes[k].layer
			if L == len(layers) {
				layers = append(layers, nil)
			}
			layers[L] = append(layers[L], k)
			for _, m := range adj[k] {
				if !placed[m] {
					placed[m] = true
					boxes[m].layer = L + 1
					queue = append(queue, m)
				}
			}
		}
		// Order within each layer by the mean position of the neighbours
		// in the layer before (then after), a few sweeps.
		setOrder := func(layer []int) {
			for p, k := range layer {
				boxes[k].order = float64(p)
			}
		}
		for _, layer := range layers {
			setOrder(layer)
		}
		for sweep := 0; sweep < 4; sweep++ {
			for L := 1; L < len(layers); L++ {
				sortByNeighbours(boxes, adj, layers[L], L-1)
				setOrder(layers[L])
			}
			for L := len(layers) - 2; L >= 0; L-- {
				sortByNeighbours(boxes, adj, layers[L], L+1)
				setOrder(layers[L])
			}
		}
		// Columns.
		x := margin
		for _, layer := range layers {
			w := 0.0
			for _, k := range layer {
				w = max(w, boxes[k].w)
			}
			for _, k := range layer {
				boxes[k].x = x
			}
			x += w + columnGap
		}
		// Rows: stack each column, then pull boxes level with their
		// neighbours, down the layers and back up.
		for _, layer := range layers {
			y := 0.0
			for _, k := range layer {
				boxes[k].y = y
				y += boxes[k].h + nodeGap
			}
		}
		for pass := 0; pass < 2; pass++ {
			for L := 1; L < len(layers); L++ {
				align(boxes, adj, layers[L], L-1)
			}
			for L := len(layers) - 2; L >= 0; L-- {
				align(boxes, adj, layers[L], L+1)
			}
		}
		minY, maxY := math.Inf(1), math.Inf(-1)
		for _, layer := range layers {
			for _, k := range layer {
				minY = min(minY, boxes[k].y)
				maxY = max(maxY, boxes[k].y+boxes[k].h)
			}
		}
		for _, layer := range layers {
			for _, k := range layer {
				boxes[k].y += top - minY
			}
		}
		top += maxY - minY + 2*nodeGap
	}
}

// hops returns the distance in hops from k to every node of its group (-1
// for the others).
func hops(adj [][]int, k int) []int {
	dist := make([]int, len(adj))
	for i := range dist {
		dist[i] = -1
	}
	dist[k] = 0
	queue := []int{k}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, m := range adj[n] {
			if dist[m] < 0 {
				dist[m] = dist[n] + 1
				queue = append(queue, m)
			}
		}
	}
	return dist
}

// eccentricity is the distance from k to the farthest node of its group.
func eccentricity(adj [][]int, k int) int { return slices.Max(hops(adj, k)) }

// sortByNeighbours orders a layer by the mean order of each box's
// neighbours in layer other; a box with none keeps its place.
func sortByNeighbours(boxes []*box, adj [][]int, layer []int, other int) {
	key := make(map[int]float64, len(layer))
	for _, k := range layer {
		sum, n := 0.0, 0
		for _, m := range adj[k] {
			if boxes[m].layer == other {
				sum += boxes[m].order
				n++
			}
		}
		if n > 0 {
			key[k] = sum / float64(n)
		} else {
			key[k] = boxes[k].order
		}
	}
	slices.SortStableFunc(layer, func(a, b int) int { return cmp.Compare(key[a], key[b]) })
}

// align moves each box of a layer level with the mean centre of its
// neighbours in layer other, keeping the layer's order and gaps: a box
// may move up only as far as the one above it allows, and pushes the
// ones below it down.
func align(boxes []*box, adj [][]int, layer []int, other int) {
	prevBottom := math.Inf(-1)
	for _, k := range layer {
		b := boxes[k]
		want := b.y
		sum, n := 0.0, 0
		for _, m := range adj[k] {
			if boxes[m].layer == other {
				sum += boxes[m].center()
				n++
			}
		}
		if n > 0 {
			want = sum/float64(n) - b.h/2
		}
		b.y = max(want, prevBottom+nodeGap)
		prevBottom = b.y + b.h
	}
}

// SVG draws the lab: each node a box with its name and its interfaces as
// labelled ports with their addresses, a bridge as a switch with its ports
// hanging below it, veth pairs as lines between ports, VXLAN tunnels as
// dashed lines labelled with the VNI, a MACVLAN under its parent (or a
// dotted line to a parent in another node), and routes, NAT and filter
// rules summarised under the interfaces. In a lab with machines, each
// machine is a frame around its nodes, named with its address, the title
// lists the machines, and a link between two machines is a dashed line
// labelled "vxlan VNI n". The SVG is self-contained.
func SVG(l *lab.Lab) []byte {
	boxes := make([]*box, len(l.Nodes))
	byName := make(map[string]*box, len(l.Nodes))
	for k, n := range l.Nodes {
		boxes[k] = newBox(n)
		byName[n.Name] = boxes[k]
	}
	es := edges(l)
	// The title: the lab's name, then its description wrapped.
	head := []string{l.Name}
	head = append(head, wrap(oneLine(l.Description), 100)...)
	head = append(head, wrap(machinesText(l), 100)...)
	headH := float64(len(head))*(fontSize+6) + 8
	var frames []frame
	if len(l.Machines) == 0 {
		layout(boxes, es, margin+headH+8)
	} else {
		frames = layoutMachines(l, boxes, es, margin+headH+8)
	}

	// Ports face the column of the node they lead to, one port on each
	// side an interface has lines on; lines within one column leave on the
	// right.
	sides := make([][2]int, len(es))
	for k, e := range es {
		ba, bb := byName[e.A.Node], byName[e.B.Node]
		sa, sb := 1, -1
		switch {
		case e.Kind == edgeCross:
			// The two boxes are in different frames, each laid out in
			// columns of its own: the sides follow where they lie.
			switch {
			case ba.x >= bb.x+bb.w:
				sa, sb = -1, 1
			case bb.x < ba.x+ba.w:
				sa, sb = 1, 1
			}
		case ba.layer > bb.layer:
			sa, sb = -1, 1
		case ba.layer == bb.layer:
			sa, sb = 1, 1
		}
		sides[k] = [2]int{sa, sb}
		if r := ba.rowOf(e.A); r != nil {
			r.ports |= portBit(sa)
		}
		if r := bb.rowOf(e.B); r != nil {
			r.ports |= portBit(sb)
		}
	}

	var width, height float64
	title := l.Name
	if l.Description != "" {
		title += ": " + oneLine(l.Description)
	}
	var taken []rect
	for k, h := range head {
		size := fontSize
		if k == 0 {
			size = titleSize
		}
		taken = append(taken, rect{margin, margin + float64(k)*(fontSize+6), textWidth(h, size), size + 4})
		width = max(width, margin+textWidth(h, size)+margin)
	}
	for _, b := range boxes {
		width = max(width, b.x+b.w+margin)
		height = max(height, b.y+b.h+margin)
	}
	for _, f := range frames {
		width = max(width, f.x+f.w+margin, f.x+textWidth(f.text, fontSize)+framePad+margin)
		height = max(height, f.y+f.h+margin)
		taken = append(taken, rect{f.x + framePad, f.y + 4, textWidth(f.text, fontSize), fontSize + 4})
	}
	height = max(height, margin+headHeight)

	var out bytes.Buffer
	// Lines first, so boxes and labels sit on top of them.
	for _, b := range boxes {
		taken = append(taken, rect{b.x, b.y, b.w, b.h})
	}
	type pending struct {
		x, y float64
		text string
	}
	var edgeLabels []pending
	sameCol := make(map[int]int)
	var paths bytes.Buffer
	for k, e := range es {
		ba, bb := byName[e.A.Node], byName[e.B.Node]
		ra, rb := ba.rowOf(e.A), bb.rowOf(e.B)
		if ra == nil || rb == nil {
			continue
		}
		sa, sb := sides[k][0], sides[k][1]
		x1, y1 := portX(ba, sa), ba.y+ra.y+rowHeight/2
		x2, y2 := portX(bb, sb), bb.y+rb.y+rowHeight/2
		var d string
		var mx, my float64
		if sa == sb {
			// Both on one side: bow out into the gap beside the column.
			sameCol[ba.layer]++
			edgeX := max(x1, x2)
			if sa < 0 {
				edgeX = min(x1, x2)
			}
			off := float64(sa) * (24 + 10*float64(sameCol[ba.layer]%6))
			width = max(width, edgeX+off+margin)
			d = fmt.Sprintf("M%s %s C%s %s %s %s %s %s", num(x1), num(y1), num(edgeX+off), num(y1), num(edgeX+off), num(y2), num(x2), num(y2))
			mx, my = edgeX+off*0.75, (y1+y2)/2
		} else {
			if x1 > x2 {
				x1, y1, x2, y2 = x2, y2, x1, y1
			}
			dx := (x2 - x1) / 2
			d = fmt.Sprintf("M%s %s C%s %s %s %s %s %s", num(x1), num(y1), num(x1+dx), num(y1), num(x2-dx), num(y2), num(x2), num(y2))
			mx, my = (x1+x2)/2, (y1+y2)/2
		}
		class := [...]string{"veth", "vxlan", "macvlan", "vxlan cross"}[e.Kind]
		fmt.Fprintf(&paths, "<path class=%q d=%q><title>%s</title></path>\n", class, d, esc(e.A.Ref()+" — "+e.B.Ref()))
		if e.Kind == edgeVXLAN || e.Kind == edgeCross {
			edgeLabels = append(edgeLabels, pending{mx, my, e.Label})
		}
	}

	// Line labels, moved along the gap until they are clear of boxes and
	// of each other; the drawing is widened to hold one that bows out
	// beside the last column.
	type placed struct {
		rect rect
		text string
	}
	var labelRects []placed
	for _, p := range edgeLabels {
		w := textWidth(p.text, fontSize) + 6
		h := fontSize + 4
		r := rect{p.x - w/2, p.y - h/2, w, h}
		for step := 1; step < 200 && overlapsAny(r, taken); step++ {
			d := float64((step+1)/2) * 6
			if step%2 == 1 {
				d = -d
			}
			r.y = p.y - h/2 + d
		}
		taken = append(taken, r)
		labelRects = append(labelRects, placed{r, p.text})
		width = max(width, r.x+r.w+margin)
		height = max(height, r.y+r.h+margin)
	}

	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="%s">`+"\n",
		num(width), num(height), num(width), num(height), num(fontSize))
	out.WriteString(svgStyle)
	if len(frames) > 0 {
		out.WriteString(svgMachineStyle)
	}
	fmt.Fprintf(&out, "<title>%s</title>\n", esc(title))
	for k, h := range head {
		if k == 0 {
			label(&out, margin, margin+titleSize, h, titleSize, "label title")
		} else {
			label(&out, margin, margin+titleSize+float64(k)*(fontSize+6), h, fontSize, "label note")
		}
	}
	// Frames under the lines, which run from one frame to another.
	for _, f := range frames {
		fmt.Fprintf(&out, "<g id=\"machine-%s\">\n", esc(f.name))
		fmt.Fprintf(&out, "<rect class=\"machine\" x=%q y=%q width=%q height=%q rx=\"10\"/>\n", num(f.x), num(f.y), num(f.w), num(f.h))
		label(&out, f.x+framePad, f.y+4+fontSize, f.text, fontSize, "label title machinename")
		out.WriteString("</g>\n")
	}
	out.Write(paths.Bytes())

	for _, b := range boxes {
		class := "node"
		if b.node.Host {
			class = "node host"
		}
		fmt.Fprintf(&out, "<g id=\"node-%s\">\n", esc(b.node.Name))
		fmt.Fprintf(&out, "<rect class=%q x=%q y=%q width=%q height=%q rx=\"6\"/>\n", class, num(b.x), num(b.y), num(b.w), num(b.h))
		head := b.node.Name
		if b.node.Host {
			head += " (host)"
		}
		label(&out, b.x+padX, b.y+19, head, titleSize, "label title")
		firstNote := true
		for k, r := range b.rows {
			ry := b.y + r.y
			tx := b.x + padX + float64(r.indent)*indentStep
			if r.note {
				if firstNote {
					fmt.Fprintf(&out, "<line class=\"sep\" x1=%q y1=%q x2=%q y2=%q/>\n", num(b.x+6), num(ry+1), num(b.x+b.w-6), num(ry+1))
					firstNote = false
				}
				label(&out, tx, ry+14, r.text, fontSize, "label note")
				continue
			}
			if r.indent > 0 {
				// A tree line from the parent row down to this one.
				px := b.x + padX + float64(r.indent-1)*indentStep + 6
				py := ry - rowHeight + 17
				for p := k - 1; p >= 0; p-- {
					if b.rows[p].indent < r.indent {
						py = b.y + b.rows[p].y + 17
						break
					}
				}
				fmt.Fprintf(&out, "<path class=\"tree\" d=\"M%s %s V%s H%s\"/>\n", num(px), num(py), num(ry+rowHeight/2), num(tx-3))
			}
			if r.iface.Kind == device.Bridge {
				fmt.Fprintf(&out, "<rect class=\"bridge\" x=%q y=%q width=%q height=%q rx=\"3\"/>\n",
					num(tx-4), num(ry+2), num(textWidth(r.text, fontSize)+8), num(rowHeight-3))
			} else {
				for _, side := range []int{-1, 1} {
					if r.ports&portBit(side) != 0 || (side < 0 && r.ports == 0) {
						fmt.Fprintf(&out, "<rect class=\"port\" x=%q y=%q width=%q height=%q/>\n",
							num(portX(b, side)-portSize/2), num(ry+rowHeight/2-portSize/2), num(portSize), num(portSize))
					}
				}
			}
			label(&out, tx, ry+14, r.text, fontSize, "label")
		}
		out.WriteString("</g>\n")
	}

	// Line labels last, placed before the drawing's size is written.
	for _, r := range labelRects {
		fmt.Fprintf(&out, "<rect class=\"edgebg\" x=%q y=%q width=%q height=%q/>\n", num(r.rect.x), num(r.rect.y), num(r.rect.w), num(r.rect.h))
		label(&out, r.rect.x+3, r.rect.y+fontSize, r.text, fontSize, "label edgelabel")
	}
	out.WriteString("</svg>\n")
	return out.Bytes()
}

// frame is a machine as drawn: a box around its nodes, its name and
// address along the top.
type frame struct {
	name, text string
	x, y, w, h float64
}

// Frames: the room between a frame and its nodes, the height of its
// label, the gap between two frames.
const (
	framePad  = 14.0
	frameHead = 26.0
	frameGap  = 30.0
)

// layoutMachines lays out each machine's nodes as layout does a lab, one
// machine under the other, each in a frame; the nodes that name no
// machine of the lab (validate refuses them) come last, unframed.
func layoutMachines(l *lab.Lab, boxes []*box, es []edge, top float64) []frame {
	var frames []frame
	place := func(name, text string, in func(*lab.Node) bool) {
		var sub []*box
		for _, b := range boxes {
			if in(b.node) {
				sub = append(sub, b)
			}
		}
		if len(sub) == 0 {
			return
		}
		var subEdges []edge
		for _, e := range es {
			if a, b := l.Node(e.A.Node), l.Node(e.B.Node); a != nil && b != nil && in(a) && in(b) {
				subEdges = append(subEdges, e)
			}
		}
		pad, head := 0.0, 0.0
		if name != "" {
			pad, head = framePad, frameHead
		}
		layout(sub, subEdges, top+head)
		right, bottom := 0.0, 0.0
		for _, b := range sub {
			b.x += pad
			right, bottom = max(right, b.x+b.w), max(bottom, b.y+b.h)
		}
		if name != "" {
			frames = append(frames, frame{name: name, text: text, x: margin, y: top, w: right + pad - margin, h: bottom + pad - top})
			bottom += pad
		}
		top = bottom + frameGap
	}
	for _, m := range l.Machines {
		place(m.Name, strings.ReplaceAll(machineText(m), "\n", " "), func(n *lab.Node) bool { return n.Machine == m.Name })
	}
	place("", "", func(n *lab.Node) bool { return l.Machine(n.Machine) == nil })
	return frames
}

// machinesText is the drawing's legend of a lab's machines: "machines:
// m1 203.0.113.1, m2 203.0.113.2", or "" for a lab without.
func machinesText(l *lab.Lab) string {
	if len(l.Machines) == 0 {
		return ""
	}
	parts := make([]string, len(l.Machines))
	for k, m := range l.Machines {
		parts[k] = m.Name + " " + m.Address.String()
	}
	return "machines: " + strings.Join(parts, ", ")
}

const (
	portLeft  = 1
	portRight = 2
)

func portBit(side int) int {
	if side > 0 {
		return portRight
	}
	return portLeft
}

// wrap breaks text into lines of at most n characters, at spaces.
func wrap(text string, n int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len([]rune(line))+1+len([]rune(w)) > n {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// portX is the centre of a port on the box's left (side -1) or right edge.
func portX(b *box, side int) float64 {
	if side > 0 {
		return b.x + b.w
	}
	return b.x
}

func label(out *bytes.Buffer, x, y float64, text string, size float64, class string) {
	attr := ""
	if size != fontSize {
		attr = fmt.Sprintf(" font-size=%q", num(size))
	}
	fmt.Fprintf(out, "<text class=%q x=%q y=%q%s>%s</text>\n", class, num(x), num(y), attr, esc(text))
}

type rect struct{ x, y, w, h float64 }

func (a rect) overlaps(b rect) bool {
	return a.x < b.x+b.w && b.x < a.x+a.w && a.y < b.y+b.h && b.y < a.y+a.h
}

func overlapsAny(r rect, rs []rect) bool {
	return slices.ContainsFunc(rs, r.overlaps)
}

// num prints a coordinate with at most one decimal.
func num(f float64) string {
	s := fmt.Sprintf("%.1f", f)
	return strings.TrimSuffix(s, ".0")
}

// esc escapes text for XML content and attribute values.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		default:
			if r < 0x20 && r != '\t' && r != '\n' || r == 0xFFFE || r == 0xFFFF {
				b.WriteRune('\uFFFD')
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// svgStyle keeps the drawing self-contained: no external font or CSS.
const svgStyle = `<style>
.node{fill:#f7f9fc;stroke:#34495e;stroke-width:1.5}
.host{fill:#fdf6e3;stroke:#8a6d3b;stroke-dasharray:6 3}
.bridge{fill:#e3f0e8;stroke:#2e7d4f;stroke-width:1.2}
.port{fill:#34495e}
.label{fill:#1b2631}
.title{font-weight:bold}
.note{fill:#5d6d7e}
.tree{stroke:#2e7d4f;stroke-width:1.2;fill:none}
.sep{stroke:#c9d1d9}
.veth{stroke:#2c3e50;stroke-width:1.6;fill:none}
.vxlan{stroke:#c0392b;stroke-width:1.6;fill:none;stroke-dasharray:8 5}
.macvlan{stroke:#8e44ad;stroke-width:1.4;fill:none;stroke-dasharray:2 4}
.edgelabel{fill:#c0392b}
.edgebg{fill:#ffffff;opacity:0.9}
</style>
`

// svgMachineStyle is added to svgStyle in the drawing of a lab with
// machines, and only there, so that the others are drawn as before.
const svgMachineStyle = `<style>
.machine{fill:none;stroke:#7f8c8d;stroke-width:1.2;stroke-dasharray:10 4}
.machinename{fill:#7f8c8d}
</style>
`
