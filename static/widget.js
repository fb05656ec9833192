// Lantern's embeddable widget: a Space's demo on any page.
//
//   <script src="https://OWNER-SPACE.static.hf.space/widget.js" defer></script>
//   <lantern-demo src="https://OWNER-SPACE.static.hf.space/" width="100%" height="640"></lantern-demo>
//
// Attributes: `src` (the Space; default: the folder this script was loaded from), `width` and
// `height` (pixels, or a CSS length such as `100%` or `40rem`), `backend` (`cpu` or `webgpu`),
// `label` (the frame's accessible name).
//
// The demo runs in an iframe on the Space's own origin, inside this element's shadow root: the
// host page's CSS cannot reach the frame, the demo's CSS and JavaScript cannot reach the host,
// and the model cache (OPFS) belongs to the Space's origin. Threads need cross-origin isolation
// of the whole frame tree, so on an ordinary host page the worker runs one thread (the loader
// falls back by itself); `allow="cross-origin-isolated"` lets an isolated host pass it on.
//
// It runs as a classic script or as a module (no import/export, nothing global but the element
// name): a module script from another origin needs the Space to send CORS headers, a classic
// one does not.
{
  const TAG = "lantern-demo";
  // Classic scripts know their own URL; a module would need import.meta, which a classic
  // script cannot even parse, so as a module `src` must be given.
  const current = document.currentScript;
  const scriptBase = current && current.src ? new URL("./", current.src).href : null;
  const LENGTH = /^\d+(\.\d+)?(px|%|em|rem|vh|vw|vmin|vmax|ch)?$/;

  const cssLength = (value, fallback) => {
    const v = (value || "").trim();
    if (!LENGTH.test(v)) return fallback;
    return /\d$/.test(v) ? `${v}px` : v;
  };

  class LanternDemo extends HTMLElement {
    #frame;
    #message;

    static get observedAttributes() {
      return ["src", "width", "height", "backend", "label"];
    }

    constructor() {
      super();
      const root = this.attachShadow({ mode: "open" });
      const style = document.createElement("style");
      style.textContent = `
        :host { display: inline-block; vertical-align: top; max-width: 100%; }
        :host([hidden]) { display: none; }
        iframe { display: block; box-sizing: border-box; width: 100%; height: 100%; margin: 0;
                 padding: 0; border: 1px solid rgba(128, 128, 128, 0.35); border-radius: 8px;
                 background: transparent; }
        p { margin: 0; padding: 1em; font: 14px/1.4 system-ui, sans-serif; color: #b00020;
            border: 1px solid currentColor; border-radius: 8px; }
        [hidden] { display: none; }`;
      this.#frame = document.createElement("iframe");
      this.#frame.setAttribute("allow", "cross-origin-isolated");
      this.#frame.setAttribute("part", "frame");
      this.#message = document.createElement("p");
      this.#message.setAttribute("role", "alert");
      this.#message.hidden = true;
      root.append(style, this.#frame, this.#message);
    }

    connectedCallback() {
      this.#update();
    }

    attributeChangedCallback() {
      if (this.isConnected) this.#update();
    }

    #update() {
      // Inline and !important: a host rule such as `* { width: auto !important }` must not
      // resize the demo; the attributes are the contract.
      this.style.setProperty("width", cssLength(this.getAttribute("width"), "100%"), "important");
      this.style.setProperty("height", cssLength(this.getAttribute("height"), "640px"), "important");
      this.#frame.title = this.getAttribute("label") || "Lantern demo";
      let url;
      try {
        url = new URL(this.getAttribute("src") || scriptBase || "", document.baseURI);
      } catch {
        url = null;
      }
      if (!url || (!this.getAttribute("src") && !scriptBase) || !/^https?:$/.test(url.protocol)) {
        this.#fail("<lantern-demo> needs src=\"https://…\": the address of a Lantern Space.");
        return;
      }
      if (!url.pathname.endsWith("/") && !url.pathname.endsWith(".html")) url.pathname += "/";
      const backend = this.getAttribute("backend");
      if (backend) url.searchParams.set("backend", backend);
      this.#message.hidden = true;
      this.#frame.hidden = false;
      if (this.#frame.src !== url.href) this.#frame.src = url.href;
    }

    #fail(text) {
      this.#message.textContent = text;
      this.#message.hidden = false;
      this.#frame.hidden = true;
    }
  }

  if (!customElements.get(TAG)) customElements.define(TAG, LanternDemo);
}
