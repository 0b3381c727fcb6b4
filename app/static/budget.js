// The budget table (templates/applicant/budget.html): line totals, category totals and shares, and the grand
// total, worked out as the user types. Progressive enhancement only: the page works without it, and the server
// works every figure out again (app/services/budget.py), with the same reading of quantities and unit costs.
(function () {
  "use strict";
  var table = document.getElementById("budget-table");
  var form = document.getElementById("budget-form");
  if (!table || !form) { return; }
  var lang = table.getAttribute("data-lang") || "lv";
  var EUROS = /^(\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d{1,10})(?:[.,](\d{1,2}))?$/;

  function cents(text) {  // euros as typed → integer cents, or null (as budget.parse_unit_cost)
    var cleaned = (text || "").trim().replace(/€$/, "").replace(/EUR$/, "").trim();
    var found = EUROS.exec(cleaned);
    if (!found) { return null; }
    var fraction = (found[2] || "0");
    if (fraction.length === 1) { fraction += "0"; }
    return parseInt(found[1].replace(/\D/g, ""), 10) * 100 + parseInt(fraction, 10);
  }

  function quantity(text) {  // a whole number above zero, or null (as budget.parse_quantity)
    var cleaned = (text || "").trim();
    if (!/^\d{1,9}$/.test(cleaned) || parseInt(cleaned, 10) < 1) { return null; }
    return parseInt(cleaned, 10);
  }

  function money(value) {  // as app/formatting.money
    var euros = Math.floor(value / 100), rest = String(value % 100).padStart(2, "0");
    if (lang === "en") { return "€" + euros.toLocaleString("en-GB") + "." + rest; }
    return String(euros).replace(/\B(?=(\d{3})+(?!\d))/g, "\u00a0") + "," + rest + "\u00a0€";
  }

  function percent(part, whole) {  // rounded up to 0.1, as the server shows it
    if (!whole) { return "—"; }
    var tenths = Math.ceil(part * 1000 / whole);
    var text = Math.floor(tenths / 10) + "." + (tenths % 10);
    return (lang === "lv" ? text.replace(".", ",") : text) + " %";
  }

  function update() {
    var byCategory = {}, total = 0;
    table.querySelectorAll("tbody tr.budget-row").forEach(function (row) {
      var q = quantity(row.querySelector("[name=quantity]").value);
      var c = cents(row.querySelector("[name=unit_cost]").value);
      var out = row.querySelector(".line-total");
      if (q === null || c === null) { out.textContent = "—"; return; }
      var line = q * c;
      out.textContent = money(line);
      total += line;
      var category = row.querySelector("[name=category]").value;
      byCategory[category] = (byCategory[category] || 0) + line;
    });
    var totalOut = document.getElementById("budget-total");
    totalOut.textContent = money(total);
    var low = parseInt(totalOut.getAttribute("data-min"), 10), high = parseInt(totalOut.getAttribute("data-max"), 10);
    totalOut.classList.toggle("text-danger", total > 0 && (total < low || total > high));
    document.querySelectorAll("tr.budget-category").forEach(function (row) {
      var amount = byCategory[row.getAttribute("data-category")] || 0;
      var cap = row.getAttribute("data-cap");
      row.querySelector(".category-amount").textContent = money(amount);
      row.querySelector(".category-share").textContent = percent(amount, total);
      row.classList.toggle("table-danger", cap !== "" && amount * 100 > parseInt(cap, 10) * total);
    });
  }

  function addLine() {
    var rows = table.querySelectorAll("tbody tr.budget-row");
    var last = rows[rows.length - 1];
    var copy = last.cloneNode(true);
    var n = rows.length;
    copy.classList.remove("table-danger");
    copy.querySelectorAll(".line-error").forEach(function (el) { el.remove(); });
    copy.querySelectorAll("input, select").forEach(function (input) {
      var name = input.getAttribute("name");
      input.id = name + "-" + n;
      input.value = "";
      var label = copy.querySelector("label[for^='" + name + "-']");
      if (label) { label.setAttribute("for", input.id); }
    });
    copy.querySelector(".line-total").textContent = "—";
    last.parentNode.appendChild(copy);
    copy.querySelector("select").focus();
  }

  table.addEventListener("input", update);
  table.addEventListener("change", update);
  var add = document.getElementById("add-budget-line");
  if (add) { add.hidden = false; add.addEventListener("click", addLine); }
  var note = document.getElementById("budget-live-note");
  if (note) { note.hidden = false; }
  update();
})();
