// Sending a spectrum or a table to TOPCAT, SPLAT-VO or Aladin Desktop through the SAMP
// Web Profile (SAMP 1.3 sec. 5), with the sampjs library (npm "sampjs", served by us).
// Buttons carry data-samp-spectrum="<VOTable URL>" or data-samp-table="<VOTable URL>" and
// data-samp-name; results tables add theirs after the page loads (see search.js).
"use strict";

(function () {
  let connection = null;

  function status(text) {
    const el = document.getElementById("samp-status");
    if (el) el.textContent = text;
  }

  function absolute(url) {
    return new URL(url, window.location.href).href;
  }

  // sampjs is loaded on the first click only (no page needs it to be complete); its last
  // line assigns module.exports (CommonJS), which a browser without a bundler lacks
  function loadSamp() {
    return new Promise(function (resolve, reject) {
      if (typeof samp !== "undefined") { resolve(); return; }
      window.module = window.module || {exports: {}};
      const script = document.createElement("script");
      script.src = document.body.dataset.base + "/portal/vendor/samp.js";
      script.onload = function () { resolve(); };
      script.onerror = function () {
        reject(new Error("the sampjs library is not installed on this server"));
      };
      document.head.appendChild(script);
    });
  }

  function withConnection(action) {
    if (connection) { action(connection); return; }
    loadSamp().then(function () { register(action); }, function (err) {
      status("SAMP is not available: " + err.message + ".");
    });
  }

  function register(action) {
    samp.register("CASSISjuice portal", function (conn) {
      conn.declareMetadata([{"samp.name": "CASSISjuice portal",
                             "samp.description.text": "Spitzer/IRS spectral atlas"}]);
      connection = conn;
      window.addEventListener("pagehide", function () { conn.unregister(); });
      action(conn);
    }, function (err) {
      status("No SAMP hub answered (start TOPCAT, SPLAT-VO or Aladin Desktop first): " + err);
    });
  }

  function send(mtype, params, what) {
    withConnection(function (conn) {
      conn.notifyAll([new samp.Message(mtype, params)]);
      status("Sent " + what + " to the SAMP clients.");
    });
  }

  function sendSpectrum(url, name) {
    const href = absolute(url);
    send("spectrum.load.ssa-generic", {
      "url": href, "spectrum-id": href, "name": name,
      "meta": {"Access.Reference": href, "Access.Format": "application/x-votable+xml",
               "Target.Name": name}}, name);
  }

  function sendTable(url, name) {
    const href = absolute(url);
    send("table.load.votable", {"url": href, "table-id": href, "name": name}, name);
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-samp-spectrum], button[data-samp-table]");
    if (!button) return;
    const name = button.dataset.sampName || "CASSISjuice";
    if (button.dataset.sampSpectrum) sendSpectrum(button.dataset.sampSpectrum, name);
    else sendTable(button.dataset.sampTable, name);
  });

  window.cjSamp = {sendSpectrum: sendSpectrum, sendTable: sendTable};
})();
