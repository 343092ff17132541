package team

import (
	"context"
	"image/color"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keywizard/keywizard/tracker"
)

// Source gives the team view its data. internal/trackerlink's TeamSource reads it
// from the tracker (GET /v1/team); errors from the tracker client
// (client.ErrNoToken, client.ErrUnauthorized, *client.APIError, network
// errors) are explained to the manager.
type Source interface {
	Team(ctx context.Context) (tracker.TeamView, error)
}

// Options tune a View.
type Options struct {
	// Now is the clock for "tried at" after a failed refresh; defaults to
	// time.Now. The "updated" time is the tracker's own GeneratedAt.
	Now func() time.Time
}

// View is the team view. Its exported fields are the widgets, for tests
// and for callers that lay it out themselves; Content holds them all.
type View struct {
	// Content is the whole view, to put in a window or a tab.
	Content fyne.CanvasObject

	Title   *widget.Label  // "Team of Maria Lopez"
	Summary *widget.Label  // "5 people · 1 complete · 1 overdue · 1 lost key"
	Updated *widget.Label  // "Updated 2 Mar 2026 09:00", "Refreshing…"
	Refresh *widget.Button // fetches the view again
	// Message replaces the table while loading, when the team is empty and
	// when the tracker could not be read.
	Message *widget.Label
	// Table is people × (status, services, OTP, genuine) with a sticky
	// header row and person column; each key column shows the everyday
	// and the backup key side by side.
	Table  *widget.Table
	Legend fyne.CanvasObject
	// LostTitle heads Lost, one label per lost key.
	LostTitle *widget.Label
	Lost      *fyne.Container
	// Detail is the text of the last person's details dialog (a row
	// tapped), nil before any.
	Detail *widget.Label

	win  fyne.Window
	src  Source
	opts Options

	ctx     context.Context
	view    tracker.TeamView
	cols    []column
	loading bool
	loads   sync.WaitGroup
	lostBox *container.Scroll
	bottom  *fyne.Container // legend and lost keys, shown with a table
	// The table's cell and header templates by container: Fyne walks
	// *fyne.Container by type, so templates cannot be wrapper structs.
	cells   map[*fyne.Container]*cell
	headers map[*fyne.Container]*header
}

// New builds the team view for window w (used for the row details dialog)
// reading from src. Nothing is fetched until Start.
func New(w fyne.Window, src Source, opts Options) *View {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	v := &View{win: w, src: src, opts: opts, cells: map[*fyne.Container]*cell{}, headers: map[*fyne.Container]*header{}}
	v.build()
	return v
}

func (v *View) build() {
	v.Title = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameSubHeadingText}
	v.Summary = &widget.Label{}
	v.Updated = &widget.Label{Alignment: fyne.TextAlignTrailing}
	v.Refresh = widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), v.refresh)
	v.Refresh.Disable() // until Start gives a context
	v.Message = &widget.Label{Text: msgLoading, Wrapping: fyne.TextWrapWord, Alignment: fyne.TextAlignCenter}

	v.Table = &widget.Table{
		ShowHeaderRow:     true,
		StickyColumnCount: 1,
		Length:            func() (int, int) { return len(v.view.Rows), len(v.cols) },
		CreateCell:        v.newCell,
		UpdateCell:        v.updateCell,
		CreateHeader:      v.newHeader,
		UpdateHeader:      v.updateHeader,
		OnSelected:        v.selected,
	}
	v.Table.ExtendBaseWidget(v.Table)
	v.Table.Hide()

	v.Legend = legend()
	v.LostTitle = &widget.Label{Text: "Lost keys", TextStyle: fyne.TextStyle{Bold: true}}
	v.Lost = container.NewVBox()
	v.lostBox = container.NewVScroll(v.Lost)

	top := container.NewBorder(nil, nil, nil,
		container.NewHBox(container.NewCenter(v.Updated), container.NewCenter(v.Refresh)),
		container.NewVBox(v.Title, v.Summary))
	v.bottom = container.NewVBox(v.Legend, widget.NewSeparator(), v.LostTitle, v.lostBox)
	v.bottom.Hide()
	center := container.NewStack(v.Table, container.NewPadded(container.NewVBox(v.Message)))
	v.Content = container.NewPadded(container.NewBorder(
		container.NewVBox(top, widget.NewSeparator()), v.bottom, nil, nil, center))
	v.showLost(nil)
}

// Start fetches the view for the first time, in the background, and
// enables Refresh; ctx bounds every fetch (cancel it when the window
// closes). Call it on Fyne's goroutine.
func (v *View) Start(ctx context.Context) {
	v.ctx = ctx
	v.refresh()
}

// Wait blocks until the fetches started so far have been shown, or have
// ended because Start's context did. Tests call it after Start or a tap on
// Refresh; the window calls it when it closes, after ending the context
// (internal/desktop), so no fetch outlives the window.
func (v *View) Wait() { v.loads.Wait() }

// refresh starts one fetch unless one is running; the Refresh button is
// disabled meanwhile, so a manager cannot pile up requests.
func (v *View) refresh() {
	if v.ctx == nil || v.loading {
		return
	}
	v.loading = true
	v.Refresh.Disable()
	v.Updated.SetText("Refreshing…")
	ctx := v.ctx
	v.loads.Add(1)
	go func() {
		defer v.loads.Done()
		tv, err := v.src.Team(ctx)
		if ctx.Err() != nil {
			return // the window went away
		}
		// Not fyne.DoAndWait: the window waits for this goroutine on
		// Fyne's goroutine when it closes (Wait), which would then never
		// run show. Once ctx has ended, show is not run and the goroutine
		// stops waiting for it.
		shown := make(chan struct{})
		fyne.Do(func() {
			defer close(shown)
			if ctx.Err() == nil {
				v.show(tv, err)
			}
		})
		select {
		case <-shown:
		case <-ctx.Done():
		}
	}()
}

// show renders a fetched view or the error that replaced it.
func (v *View) show(tv tracker.TeamView, err error) {
	v.loading = false
	v.Refresh.Enable()
	if err != nil {
		// Showing nothing rather than the last table: stale rows could
		// hide that someone has since become overdue or lost a key.
		v.view, v.cols = tracker.TeamView{}, nil
		v.Title.SetText("Your team")
		v.Summary.SetText("")
		v.Updated.SetText("Tried at " + v.opts.Now().Local().Format("15:04"))
		v.Message.Importance = widget.WarningImportance
		v.setMessage(explain(err))
		v.showLost(nil)
		v.Table.Refresh()
		v.Content.Refresh()
		return
	}
	v.view, v.cols = tv, columns(tv)
	v.Title.SetText(title(tv))
	v.Summary.SetText(summary(tv))
	at := tv.GeneratedAt
	if at.IsZero() {
		at = v.opts.Now()
	}
	v.Updated.SetText("Updated " + at.Local().Format("2 Jan 2006 15:04"))
	v.Message.Importance = widget.MediumImportance
	if len(tv.Rows) == 0 {
		v.setMessage(emptyMessage(tv))
	} else {
		v.setMessage("")
	}
	for i, c := range v.cols {
		v.Table.SetColumnWidth(i, c.width)
	}
	v.Table.ScrollToTop()
	v.Table.Refresh()
	v.showLost(tv.LostKeys)
	// The lost-keys list changed height: lay the whole view out again.
	v.Content.Refresh()
}

// setMessage shows msg instead of the table, or the table if msg is empty.
func (v *View) setMessage(msg string) {
	v.Message.SetText(msg)
	if msg == "" {
		v.Message.Hide()
		v.Table.Show()
		v.bottom.Show()
		return
	}
	// Without a table the legend and the lost keys (which belong to the
	// table's people) have nothing to say.
	v.Table.Hide()
	v.bottom.Hide()
	v.Message.Show()
}

// maxLostLines caps the lost-keys list's height so the table keeps most of
// a 1024x768 window; more scroll.
const maxLostLines = 3

func (v *View) showLost(lost []tracker.LostKey) {
	v.Lost.RemoveAll()
	if len(lost) == 0 {
		v.LostTitle.SetText("Lost keys: none")
		v.lostBox.Hide()
		return
	}
	v.LostTitle.SetText("Lost keys")
	var h float32
	for i, l := range lost {
		lbl := &widget.Label{Text: lostLine(l), Truncation: fyne.TextTruncateEllipsis}
		v.Lost.Add(lbl)
		if i < maxLostLines {
			h += lbl.MinSize().Height
		}
	}
	v.lostBox.SetMinSize(fyne.NewSize(0, h))
	v.lostBox.Show()
	v.Lost.Refresh()
}

// cell is one table cell's template: every kind of content, of which
// updateCell shows the one its column needs.
type cell struct {
	bg               *canvas.Rectangle
	name, sub        *widget.Label // a person, or their status
	person           *fyne.Container
	everyday, backup *widget.Icon
	pair             *fyne.Container
}

func (v *View) newCell() fyne.CanvasObject {
	c := &cell{
		bg:       canvas.NewRectangle(color.Transparent),
		name:     &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis},
		sub:      &widget.Label{SizeName: theme.SizeNameCaptionText, Truncation: fyne.TextTruncateEllipsis},
		everyday: widget.NewIcon(nil),
		backup:   widget.NewIcon(nil),
	}
	c.person = container.New(tightVBox{}, c.name, c.sub)
	c.pair = container.NewCenter(container.NewHBox(c.everyday, c.backup))
	o := container.NewStack(c.bg, c.person, c.pair)
	v.cells[o] = c
	return o
}

func (v *View) updateCell(id widget.TableCellID, o fyne.CanvasObject) {
	co, _ := o.(*fyne.Container)
	c, ok := v.cells[co]
	if !ok || id.Row < 0 || id.Row >= len(v.view.Rows) || id.Col < 0 || id.Col >= len(v.cols) {
		return
	}
	r, col := v.view.Rows[id.Row], v.cols[id.Col]
	c.bg.FillColor = rowColour(r)
	c.bg.Refresh()
	// Every part is always shown and the unused ones are blanked: a
	// template's parts hidden and shown again as the table recycles it
	// would keep stale sizes (no truncation) until the next relayout.
	name, sub, imp := "", "", widget.MediumImportance
	var e, b fyne.Resource
	switch col.kind {
	case colPerson:
		name, sub = r.Person.Name, personLine(r.Person)
	case colStatus:
		name, sub, imp = status(r, v.view.GeneratedAt)
	default:
		me, mb := marks(r, col)
		e, b = icon(me), icon(mb)
	}
	c.name.Importance = imp
	c.name.SetText(name)
	c.sub.SetText(sub)
	c.everyday.SetResource(e)
	c.backup.SetResource(b)
}

// rowColour tints overdue rows (the dashboard's tr.overdue) so they stand
// out when scrolled past the Status column.
func rowColour(r tracker.Row) color.Color {
	if !r.Overdue {
		return color.Transparent
	}
	c := color.NRGBAModel.Convert(theme.Color(theme.ColorNameError)).(color.NRGBA)
	c.A = 0x1F
	return c
}

// header is a table header's template: the column title and, over key
// columns, which key is which.
type header struct {
	title, keys *widget.Label
}

func (v *View) newHeader() fyne.CanvasObject {
	h := &header{
		title: &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Alignment: fyne.TextAlignCenter, Truncation: fyne.TextTruncateEllipsis},
		keys:  &widget.Label{SizeName: theme.SizeNameCaptionText, Alignment: fyne.TextAlignCenter},
	}
	o := container.New(tightVBox{}, h.title, h.keys)
	v.headers[o] = h
	return o
}

func (v *View) updateHeader(id widget.TableCellID, o fyne.CanvasObject) {
	ho, _ := o.(*fyne.Container)
	h, ok := v.headers[ho]
	if !ok || id.Col < 0 || id.Col >= len(v.cols) {
		return
	}
	col := v.cols[id.Col]
	h.title.SetText(col.title)
	if col.kind == colPerson || col.kind == colStatus {
		h.title.Alignment = fyne.TextAlignLeading
		h.keys.SetText("")
		return
	}
	h.title.Alignment = fyne.TextAlignCenter
	h.keys.SetText("E    B")
}

// selected opens the tapped person's details: in words what the row shows
// as icons, plus serials, models and firmware.
func (v *View) selected(id widget.TableCellID) {
	v.Table.UnselectAll()
	if id.Row < 0 || id.Row >= len(v.view.Rows) {
		return
	}
	r := v.view.Rows[id.Row]
	v.Detail = &widget.Label{Text: details(v.view, r), Wrapping: fyne.TextWrapWord}
	d := dialog.NewCustom(r.Person.Name, "Close", container.NewVScroll(v.Detail), v.win)
	d.Resize(fyne.NewSize(520, 480))
	d.Show()
}

// InTabs puts what w shows now (the wizard) and the team view in two tabs,
// "My keys" first, and shows them in w. Call it on Fyne's goroutine once
// the person is known to manage someone or to be IT.
func (v *View) InTabs(w fyne.Window) *container.AppTabs {
	if tabs, ok := w.Content().(*container.AppTabs); ok {
		for _, it := range tabs.Items {
			if it.Content == v.Content {
				return tabs
			}
		}
	}
	tabs := container.NewAppTabs(
		container.NewTabItemWithIcon("My keys", theme.AccountIcon(), w.Content()),
		container.NewTabItemWithIcon("My team", theme.GridIcon(), v.Content))
	w.SetContent(tabs)
	return tabs
}

// tightVBox stacks objects vertically with no padding between them, so a
// name and its e-mail line read as one cell.
type tightVBox struct{}

func (tightVBox) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		m := o.MinSize()
		s.Width = max(s.Width, m.Width)
		s.Height += m.Height
	}
	// Labels carry their own inner padding; remove one so two lines are
	// as tall as a table row with a caption, not two full rows.
	if len(objs) > 1 {
		s.Height -= theme.Padding() * 2
	}
	return s
}

func (tightVBox) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	total := tightVBox{}.MinSize(objs).Height
	y := (size.Height - total) / 2
	for i, o := range objs {
		h := o.MinSize().Height
		if i > 0 {
			y -= theme.Padding() * 2
		}
		o.Move(fyne.NewPos(0, y))
		o.Resize(fyne.NewSize(size.Width, h))
		y += h
	}
}

// icon is the picture for a mark; the legend and the row details say it
// in words. Colours follow the dashboard: green verified on the key, blue
// confirmed by the service, amber self-attested, red missing.
func icon(m Mark) fyne.Resource {
	switch m {
	case MarkOnKey, MarkDone:
		return theme.NewSuccessThemedResource(theme.ConfirmIcon())
	case MarkBySystem:
		return theme.NewPrimaryThemedResource(theme.ConfirmIcon())
	case MarkSelfAttested:
		return theme.NewWarningThemedResource(theme.QuestionIcon())
	case MarkMissing:
		return theme.NewErrorThemedResource(theme.CancelIcon())
	case MarkUnconfirmed:
		return theme.NewWarningThemedResource(theme.QuestionIcon())
	}
	// A dash, as the dashboard's "·": quiet but readable on the overdue
	// tint too (the placeholder colour keeps AA contrast, theme.go).
	return theme.NewColoredResource(theme.ContentRemoveIcon(), theme.ColorNamePlaceHolder)
}

// legend explains the icons, once, under the table.
func legend() fyne.CanvasObject {
	item := func(m Mark, text string) fyne.CanvasObject {
		return container.NewHBox(widget.NewIcon(icon(m)), &widget.Label{Text: text, SizeName: theme.SizeNameCaptionText})
	}
	// Two lines, so the legend never sets the window's minimum width.
	return container.New(tightVBox{},
		container.NewHBox(
			item(MarkOnKey, "verified on the key / yes"),
			item(MarkBySystem, "confirmed by the service"),
			item(MarkSelfAttested, "self-attested / not confirmed"),
			item(MarkMissing, "missing"),
			item(MarkNoKey, "no key yet")),
		&widget.Label{Text: "E = everyday key (stays in the laptop), B = backup key. Tap a person for details.", SizeName: theme.SizeNameCaptionText})
}
