// The ID card's plots: every variant of each arm from the document the page holds (the
// same as /cards/<ID>/spectra.json), drawn by
// CJPlot (plot.js), the selected variant thick, lines marked at the object's redshift;
// the variants table's checkboxes show and hide each variant.
"use strict";

(function () {
  const PALETTE = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                   "#bcbd22", "#17becf", "#aec7e8", "#98df8a", "#c5b0d5", "#c49c94"];
  const SELECTED = "#d62728";
  const LINE_COLOURS = {ion: "#6a3d9a", H2: "#b15928", PAH: "#33a02c"};
  const card = document.getElementById("card");

  function decode(q) {
    return q.values.map(v => (v === null ? null : v * q.scale));
  }

  function drawArm(arm, variants, doc) {
    const container = document.getElementById("plot-" + arm);
    const table = document.querySelector(`table.variants[data-arm="${arm}"]`);
    if (!container || !table) return null;
    let next = 0;
    const series = variants.map(v => ({
      label: v.variant, visible: true, width: v.selected ? 2.6 : 0.9,
      colour: v.selected ? SELECTED : PALETTE[next++ % PALETTE.length],
      parts: v.parts.map(p => ({x: decode(p.wavelength), y: decode(p.flux)}))}));
    const z = doc.redshift || 0;
    const markers = doc.lines.map(l => ({x: l.rest_um * (1 + z), name: l.name,
                                         colour: LINE_COLOURS[l.kind] || "#555"}));
    const plot = new window.CJPlot(container, {
      series: series, markers: markers, xlabel: "observed wavelength (um)",
      ylabel: "flux density (Jy)"});
    const index = new Map(variants.map((v, i) => [v.variant, i]));
    for (const row of table.querySelectorAll("tbody tr")) {
      const i = index.get(row.dataset.variant);
      const box = row.querySelector("input[type=checkbox]");
      const swatch = row.querySelector(".swatch");
      if (i === undefined) { box.disabled = true; continue; }
      swatch.style.background = series[i].colour;
      box.addEventListener("change", () => plot.setVisible(i, box.checked));
    }
    container.dataset.drawn = String(plot.drawn);
    return plot;
  }

  const embedded = document.getElementById("card-spectra");
  if (!card || !embedded) return;
  Promise.resolve().then(() => JSON.parse(embedded.textContent)).then(doc => {
    const plots = {};
    for (const arm of Object.keys(doc.arms)) plots[arm] = drawArm(arm, doc.arms[arm], doc);
    window.cjCard = {plots: plots, readyMs: performance.now()};
    document.body.dataset.plotsReady = "1";
  }).catch(err => {
    for (const div of document.querySelectorAll(".plot")) {
      div.textContent = "The spectra could not be loaded: " + err.message;
    }
    document.body.dataset.plotsReady = "error";
  });
})();
