// A virtualised, keyed grid of rows of fixed height: only the rows in view
// (and a few either side) exist in the DOM, each keyed by its id and
// rewritten only when its item's version changed. Keyboard: arrows,
// Page Up/Down, Home/End move the active row; Enter opens it; Delete asks
// to end it.

const OVERSCAN = 6;

export class Grid {
  // opts: rowHeight, cells(item) -> [text…], label(item) -> string,
  // cls(item) -> class names, onOpen(id), onDelete(id)
  constructor(viewport, spacer, opts) {
    this.vp = viewport;
    this.spacer = spacer;
    this.o = opts;
    this.ids = [];
    this.get = () => null;
    this.rows = new Map(); // id -> {el, ver, idx}
    this.active = "";
    this.selected = "";
    this.h = opts.rowHeight;
    viewport.addEventListener("scroll", () => opts.schedule());
    viewport.addEventListener("keydown", (ev) => this.key(ev));
    viewport.addEventListener("click", (ev) => {
      const row = ev.target.closest("[data-id]");
      if (!row) return;
      this.setActive(row.dataset.id);
      this.o.onOpen(row.dataset.id);
    });
    viewport.addEventListener("focus", () => {
      if (!this.active && this.ids.length) { this.setActive(this.ids[0]); this.o.schedule(); }
    });
  }

  // setItems gives the rows' order and the lookup of their items.
  setItems(ids, get) {
    this.ids = ids;
    this.get = get;
    this.index = null;
  }

  indexOf(id) {
    if (!this.index) {
      this.index = new Map();
      this.ids.forEach((x, i) => this.index.set(x, i));
    }
    const i = this.index.get(id);
    return i === undefined ? -1 : i;
  }

  setActive(id) {
    this.active = id;
    this.vp.setAttribute("aria-activedescendant", id ? rowId(id) : "");
    for (const [rid, r] of this.rows) r.el.classList.toggle("active", rid === id);
  }

  key(ev) {
    const n = this.ids.length;
    if (!n) return;
    let i = Math.max(0, this.indexOf(this.active));
    const page = Math.max(1, Math.floor(this.vp.clientHeight / this.h) - 1);
    switch (ev.key) {
      case "ArrowDown": i = Math.min(n - 1, i + 1); break;
      case "ArrowUp": i = Math.max(0, i - 1); break;
      case "PageDown": i = Math.min(n - 1, i + page); break;
      case "PageUp": i = Math.max(0, i - page); break;
      case "Home": i = 0; break;
      case "End": i = n - 1; break;
      case "Enter": case " ": if (this.active) this.o.onOpen(this.active); ev.preventDefault(); return;
      case "Delete": case "Backspace": if (this.active) this.o.onDelete(this.active); ev.preventDefault(); return;
      default: return;
    }
    ev.preventDefault();
    this.setActive(this.ids[i]);
    const top = i * this.h;
    if (top < this.vp.scrollTop) this.vp.scrollTop = top;
    else if (top + this.h > this.vp.scrollTop + this.vp.clientHeight) this.vp.scrollTop = top + this.h - this.vp.clientHeight;
    this.o.schedule();
  }

  // render brings the DOM in line with the items in view.
  render() {
    const n = this.ids.length;
    this.spacer.style.height = n * this.h + "px";
    this.vp.setAttribute("aria-rowcount", String(n));
    const first = Math.max(0, Math.floor(this.vp.scrollTop / this.h) - OVERSCAN);
    const last = Math.min(n, Math.ceil((this.vp.scrollTop + this.vp.clientHeight) / this.h) + OVERSCAN);
    const want = new Set();
    for (let i = first; i < last; i++) want.add(this.ids[i]);
    for (const [id, r] of this.rows) {
      if (!want.has(id)) { r.el.remove(); this.rows.delete(id); }
    }
    let added = null;
    for (let i = first; i < last; i++) {
      const id = this.ids[i];
      const item = this.get(id);
      if (!item) continue;
      let r = this.rows.get(id);
      if (!r) {
        const el = document.createElement("div");
        el.className = "row";
        el.setAttribute("role", "row");
        el.id = rowId(id);
        el.dataset.id = id;
        for (let c = 0; c < this.o.columns; c++) {
          const s = document.createElement("span");
          s.setAttribute("role", "gridcell");
          el.appendChild(s);
        }
        r = { el, ver: -1, idx: -1 };
        this.rows.set(id, r);
        (added ||= document.createDocumentFragment()).appendChild(el);
      }
      if (r.idx !== i) {
        r.idx = i;
        r.el.style.transform = `translateY(${i * this.h}px)`;
        r.el.setAttribute("aria-rowindex", String(i + 1));
      }
      if (r.ver !== item.ver) {
        r.ver = item.ver;
        const cells = this.o.cells(item);
        const kids = r.el.children;
        for (let c = 0; c < cells.length; c++) {
          if (kids[c].textContent !== cells[c]) kids[c].textContent = cells[c];
        }
        r.el.className = "row " + this.o.cls(item) + (id === this.active ? " active" : "") + (id === this.selected ? " selected" : "");
        r.el.setAttribute("aria-label", this.o.label(item));
        r.el.setAttribute("aria-selected", id === this.selected ? "true" : "false");
      }
    }
    if (added) this.vp.appendChild(added);
  }

  // refresh forces every row in view to be rewritten (the age column).
  refresh() { for (const r of this.rows.values()) r.ver = -1; }

  // has reports whether id's row is in the DOM now.
  has(id) { return this.rows.has(id); }
}

function rowId(id) { return "call-row-" + id; }
