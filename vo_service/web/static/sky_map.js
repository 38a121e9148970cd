// The all-sky map: Aladin Lite (npm "aladin-lite", served by us) on a blank background
// HiPS of ours, the atlas positions from our TAP service as three catalogues (LR only, HR
// only, both), each with its coverage MOC (/portal/moc/<kind>); a click on a position
// opens its ID card. Nothing
// is requested from another host: the CDS survey list, logger and proxy are turned off
// (hipsList [], log false, useProxy unused).
//
// The positions are one TAP query in JSON, started before Aladin Lite is even loaded and
// turned into sources here: on the 20,400-position atlas, Aladin Lite's own reader of the
// same query in TABLEDATA (A.catalogFromURL, three queries) put the first markers on the
// map 3.7 s after navigation in headless Chromium, 1.2 s of it parsing XML after the data
// had arrived; see benchmarks/results/portal/.
const div = document.getElementById("aladin");
const base = div.dataset.base;
const status = document.getElementById("map-status");
const KINDS = [
  {key: "lr", name: "LR only", colour: "#29b6f6", lr: true, hr: false},
  {key: "hr", name: "HR only", colour: "#ffa726", lr: false, hr: true},
  {key: "both", name: "LR and HR", colour: "#ef5350", lr: true, hr: true},
];
const state = {counts: {}, catalogues: {}, mocLoaded: false, firstMarkersMs: null,
               allMarkersMs: null, error: null};
window.cjMap = state;

const positions = fetch(base + "/tap/sync?" + new URLSearchParams({
  LANG: "ADQL", RESPONSEFORMAT: "json", MAXREC: "1000000",
  QUERY: "SELECT cj_id, object_name, ra, dec, has_lr, has_hr FROM cassisjuice.positions"}))
  .then(r => { if (!r.ok) throw new Error("TAP answered HTTP " + r.status); return r.json(); });

function report() {
  const total = Object.values(state.counts).reduce((a, b) => a + b, 0);
  const parts = KINDS.filter(k => k.key in state.counts).map(k => `${state.counts[k.key]} ${k.name}`);
  status.textContent = `${total} positions on the map (${parts.join(", ")})` +
    (state.mocLoaded ? "; coverage MOCs drawn." : ".");
}

function addPositions(A, aladin, doc) {
  const names = doc.metadata.map(m => m.name);
  const at = name => names.indexOf(name);
  const [id, name, ra, dec, lr, hr] = ["cj_id", "object_name", "ra", "dec", "has_lr",
                                       "has_hr"].map(at);
  const byKind = {lr: [], hr: [], both: []};
  for (const row of doc.data) {
    const key = row[lr] && row[hr] ? "both" : (row[lr] ? "lr" : "hr");
    byKind[key].push(A.source(row[ra], row[dec], {cj_id: row[id], object_name: row[name]}));
  }
  for (const kind of KINDS) {
    const catalogue = A.catalog({name: kind.name, color: kind.colour, sourceSize: 7,
                                 shape: "circle"});
    aladin.addCatalog(catalogue);
    catalogue.addSources(byKind[kind.key]);
    state.catalogues[kind.key] = catalogue;
    state.counts[kind.key] = catalogue.getSources().length;
    if (state.firstMarkersMs === null) state.firstMarkersMs = performance.now();
  }
  state.allMarkersMs = performance.now();
  report();
}

import("../vendor/aladin.js").then(module => module.default).then(A => A.init.then(() => {
  const aladin = A.aladin(div, {
    survey: new URL(base + "/portal/hips", window.location.href).href, hipsList: [],
    log: false, samp: false, projection: "AIT", fov: 360, target: "0 +0",
    showCooGrid: true, showShareControl: false, showSimbadPointerControl: false,
    showContextMenu: false, showSettingsControl: false, showLayersControl: true,
    showCooGridControl: false, showProjectionControl: false});
  state.aladin = aladin;
  // the coverage MOC of each kind, in its markers' colour
  let mocs = 0;
  for (const kind of KINDS) {
    const moc = A.MOCFromURL(`${base}/portal/moc/${kind.key}`, {
      name: `coverage MOC, ${kind.name}`, color: kind.colour, opacity: 0.3, lineWidth: 1,
      fill: true}, () => {
      mocs += 1;
      state.mocLoaded = mocs === KINDS.length;
      report();
    });
    aladin.addMOC(moc);
  }
  positions.then(doc => addPositions(A, aladin, doc)).catch(err => {
    state.error = String(err);
    status.textContent = "The positions could not be loaded: " + err;
  });
  aladin.on("objectClicked", (object) => {
    const id = object && object.data && object.data.cj_id;
    if (id) window.location.href = base + "/cards/" + encodeURIComponent(id);
  });
})).catch((err) => {
  state.error = String(err);
  status.textContent = "The sky map cannot be shown in this browser (" + err +
    "); the search below works without it.";
});
