// The all-sky map: Aladin Lite (npm "aladin-lite", served by us) on a blank background
// HiPS of ours, the atlas positions from our TAP service in TABLEDATA (Aladin Lite reads no
// BINARY2) as three catalogues (LR only, HR only, both), the coverage MOC from /moc; a
// click on a position opens its ID card. Nothing is requested from another host: the CDS
// survey list, logger and proxy are turned off (hipsList [], log false, useProxy false).
import A from "../vendor/aladin.js";

const div = document.getElementById("aladin");
const base = div.dataset.base;
const status = document.getElementById("map-status");
const KINDS = [
  {key: "lr", name: "LR only", colour: "#29b6f6", where: "has_lr = 1 AND has_hr = 0"},
  {key: "hr", name: "HR only", colour: "#ffa726", where: "has_lr = 0 AND has_hr = 1"},
  {key: "both", name: "LR and HR", colour: "#ef5350", where: "has_lr = 1 AND has_hr = 1"},
];
const state = {counts: {}, catalogues: {}, mocLoaded: false, firstMarkersMs: null,
               allMarkersMs: null, error: null};
window.cjMap = state;

function tapUrl(where) {
  const query = "SELECT cj_id, object_name, ra, dec FROM cassisjuice.positions WHERE " + where;
  return base + "/tap/sync?" + new URLSearchParams({
    LANG: "ADQL", RESPONSEFORMAT: "votable/td", MAXREC: "1000000", QUERY: query});
}

function report() {
  const total = Object.values(state.counts).reduce((a, b) => a + b, 0);
  const parts = KINDS.filter(k => k.key in state.counts).map(k => `${state.counts[k.key]} ${k.name}`);
  status.textContent = `${total} positions on the map (${parts.join(", ")})` +
    (state.mocLoaded ? "; coverage MOC drawn." : ".");
}

A.init.then(() => {
  const aladin = A.aladin(div, {
    survey: new URL(base + "/portal/hips", window.location.href).href, hipsList: [],
    log: false, samp: false, projection: "AIT", fov: 360, target: "0 +0",
    showCooGrid: true, showShareControl: false, showSimbadPointerControl: false,
    showContextMenu: false, showSettingsControl: false, showLayersControl: true,
    showCooGridControl: false, showProjectionControl: false});
  state.aladin = aladin;
  const moc = A.MOCFromURL(base + "/moc", {name: "coverage MOC", color: "#9ccc65", opacity: 0.25,
                                lineWidth: 1, fill: true}, () => {
    state.mocLoaded = true;
    report();
  });
  aladin.addMOC(moc);
  for (const kind of KINDS) {
    const catalogue = A.catalogFromURL(tapUrl(kind.where), {
      name: kind.name, color: kind.colour, sourceSize: 7, shape: "circle",
    }, (catalogue) => {
      state.catalogues[kind.key] = catalogue;
      state.counts[kind.key] = catalogue.getSources().length;
      const now = performance.now();
      if (state.firstMarkersMs === null) state.firstMarkersMs = now;
      if (Object.keys(state.counts).length === KINDS.length) state.allMarkersMs = now;
      report();
    }, (err) => {
      state.error = String(err);
      status.textContent = "The positions could not be loaded: " + err;
    }, false);
    aladin.addCatalog(catalogue);
  }
  aladin.on("objectClicked", (object) => {
    const id = object && object.data && object.data.cj_id;
    if (id) window.location.href = base + "/cards/" + encodeURIComponent(id);
  });
}).catch((err) => {
  state.error = String(err);
  status.textContent = "The sky map cannot be shown in this browser (" + err +
    "); the search below works without it.";
});
