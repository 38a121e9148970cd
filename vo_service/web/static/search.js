// The portal's searches (by name, by position and radius, by ADQL, through our TAP
// service; spectra similar to an atlas ID, through /similar), each read as
// RESPONSEFORMAT=json for the table drawn here, the same request as VOTable and CSV for
// downloads and SAMP, and the sortable results table. "/?similar=<ID>&arm=<LR|HR>" (the
// ID cards link there) runs the similar search on load.
"use strict";

(function () {
  const base = document.getElementById("aladin").dataset.base;
  const status = document.getElementById("search-status");
  const results = document.getElementById("results");
  const COLUMNS = "cj_id, object_name, simbad_name, ra, dec, has_lr, has_hr, snr_lr, snr_hr";

  function quoted(text) {
    return "'" + text.replace(/'/g, "''") + "'";
  }

  function tapUrl(query, format) {
    return base + "/tap/sync?" + new URLSearchParams({
      LANG: "ADQL", RESPONSEFORMAT: format, MAXREC: "10000", QUERY: query});
  }

  function errorText(body) {
    const doc = new DOMParser().parseFromString(body, "application/xml");
    const info = doc.querySelector('INFO[name="QUERY_STATUS"]');
    return info ? info.textContent.trim() : body.slice(0, 300);
  }

  function cell(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "number" && !Number.isInteger(value)) return String(+value.toPrecision(7));
    return String(value);
  }

  function link(href, text) {
    const a = document.createElement("a");
    a.href = href; a.textContent = text;
    return a;
  }

  // options: urls(format) the request in "votable", "csv" or "json"; arms: the arms whose
  // spectra to link when the table has no has_lr / has_hr; reference: an ID to mark
  function render(doc, options) {
    results.textContent = "";
    const names = doc.metadata.map(m => m.name);
    const rows = doc.data.slice();
    const idColumn = names.indexOf("cj_id");
    const links = document.createElement("p");
    links.append("Download this result: ", link(options.urls("votable"), "VOTable"), ", ",
                 link(options.urls("csv"), "CSV"), " ");
    const samp = document.createElement("button");
    samp.type = "button";
    samp.dataset.sampTable = options.urls("votable");
    samp.dataset.sampName = options.name;
    samp.textContent = "Send the table to TOPCAT / Aladin (SAMP)";
    links.append(samp);
    results.append(links);
    const table = document.createElement("table");
    table.id = "result-table";
    const caption = table.createCaption();
    caption.textContent = `${rows.length} rows${doc.overflow ? " (truncated)" : ""}`;
    const head = table.createTHead().insertRow();
    const columns = names.slice();
    if (idColumn >= 0) columns.push("spectra");
    columns.forEach((name, i) => {
      const th = document.createElement("th");
      th.scope = "col";
      if (i < names.length) {
        const button = document.createElement("button");
        button.type = "button"; button.textContent = name;
        button.addEventListener("click", () => sortBy(i, th));
        th.append(button);
      } else {
        th.textContent = name;
      }
      head.append(th);
    });
    const body = table.createTBody();
    function fill() {
      body.textContent = "";
      for (const row of rows) {
        const tr = body.insertRow();
        if (options.reference && row[idColumn] === options.reference) {
          tr.className = "reference";
          tr.title = "the reference";
        }
        row.forEach((value, i) => {
          const td = tr.insertCell();
          if (i === idColumn && value) td.append(link(base + "/cards/" + encodeURIComponent(value), value));
          else td.textContent = cell(value);
        });
        if (idColumn >= 0) {
          const td = tr.insertCell();
          const id = encodeURIComponent(row[idColumn]);
          for (const arm of options.arms || ["LR", "HR"]) {
            const flag = names.indexOf("has_" + arm.toLowerCase());
            if (flag >= 0 && !row[flag]) continue;
            td.append(link(`${base}/spectra/${id}/${arm}/best?format=votable`, arm + " VOTable"), " ",
                      link(`${base}/spectra/${id}/${arm}/best?format=csv`, arm + " CSV"), " ");
          }
        }
      }
    }
    let sorted = {column: -1, ascending: true};
    function sortBy(i, th) {
      sorted = {column: i, ascending: sorted.column === i ? !sorted.ascending : true};
      rows.sort((a, b) => {
        const x = a[i], y = b[i];
        if (x === y) return 0;
        if (x === null) return 1;
        if (y === null) return -1;
        return (x < y ? -1 : 1) * (sorted.ascending ? 1 : -1);
      });
      for (const other of head.querySelectorAll("th")) other.removeAttribute("aria-sort");
      th.setAttribute("aria-sort", sorted.ascending ? "ascending" : "descending");
      fill();
    }
    fill();
    results.append(table);
  }

  function run(options, what) {
    status.textContent = `Searching ${what}...`;
    fetch(options.urls("json")).then(r => r.text().then(text => ({ok: r.ok, text: text})))
      .then(({ok, text}) => {
        let doc = null;
        try { doc = JSON.parse(text); } catch (err) { doc = null; }
        if (!ok || !doc) {
          status.textContent = "The search failed: " + errorText(text);
          results.textContent = "";
          return;
        }
        status.textContent = `${doc.data.length} ${options.noun || "positions"} found ${what}.`;
        render(doc, options);
      }).catch(err => { status.textContent = "The search failed: " + err.message; });
  }

  function runTap(query, what) {
    run({urls: format => tapUrl(query, format === "votable" ? "votable/td" : format),
         name: "CASSISjuice search"}, what);
  }

  // /similar (protocols/similar.py): WINDOW repeated, each "low high" in um
  function similarSearch(form) {
    const f = form.elements;
    const id = f.cj_id.value.trim();
    if (!id) return;
    const params = new URLSearchParams({ID: id, ARM: f.arm.value, MODE: f.mode.value,
                                        MAXREC: f.top.value.trim() || "20"});
    // "5.5-7.5, 20 30": windows separated by commas or semicolons, a dash or a space inside
    for (const w of f.windows.value.split(/[,;]/).map(t => t.trim()).filter(Boolean)) {
      params.append("WINDOW", w.replace(/\s*[-\u2013]\s*/, " "));
    }
    history.replaceState(null, "", "?" + new URLSearchParams({similar: id, arm: f.arm.value}));
    run({urls: format => base + "/similar?" + params + "&RESPONSEFORMAT=" + format,
         name: `CASSISjuice spectra similar to ${id}`, arms: [f.arm.value], reference: id,
         noun: "spectra"}, `similar to ${id} (${f.arm.value}, ${f.mode.value})`);
  }

  document.getElementById("by-name").addEventListener("submit", ev => {
    ev.preventDefault();
    const text = ev.target.elements.name.value.trim();
    if (!text) return;
    // spaces, dashes and underscores are optional: "NGC7023" finds "NGC 7023"
    const pattern = quoted("%" + text.split(/[\s_-]+/).join("%") + "%");
    const where = ["object_name", "simbad_name", "ned_name", "cj_id"]
      .map(c => `${c} ILIKE ${pattern}`).join(" OR ");
    runTap(`SELECT ${COLUMNS} FROM cassisjuice.positions WHERE ${where} ORDER BY cj_id`,
        `for "${text}"`);
  });

  document.getElementById("by-cone").addEventListener("submit", ev => {
    ev.preventDefault();
    const f = ev.target.elements;
    const ra = Number(f.ra.value), dec = Number(f.dec.value), radius = Number(f.radius.value);
    if (![ra, dec, radius].every(Number.isFinite) || dec < -90 || dec > 90 || radius <= 0 ||
        radius > 180) {
      status.textContent = "RA, Dec and radius must be numbers in degrees (-90 <= Dec <= 90, " +
        "0 < radius <= 180).";
      return;
    }
    const point = `POINT('ICRS', ra, dec)`, centre = `POINT('ICRS', ${ra}, ${dec})`;
    runTap(`SELECT ${COLUMNS}, DISTANCE(${point}, ${centre}) AS distance_deg ` +
        `FROM cassisjuice.positions WHERE 1 = CONTAINS(${point}, ` +
        `CIRCLE('ICRS', ${ra}, ${dec}, ${radius})) ORDER BY distance_deg`,
        `within ${radius} deg of ${ra} ${dec}`);
  });

  document.getElementById("by-adql").addEventListener("submit", ev => {
    ev.preventDefault();
    runTap(ev.target.elements.adql.value, "by the ADQL query");
  });

  const similarForm = document.getElementById("by-similar");
  similarForm.addEventListener("submit", ev => {
    ev.preventDefault();
    similarSearch(ev.target);
  });

  const asked = new URLSearchParams(location.search);
  if (asked.get("similar")) {
    similarForm.elements.cj_id.value = asked.get("similar");
    if (["LR", "HR"].includes(asked.get("arm"))) similarForm.elements.arm.value = asked.get("arm");
    similarForm.scrollIntoView();
    similarSearch(similarForm);
  }
})();
