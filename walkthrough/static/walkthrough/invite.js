// SPEC A8: the tokens' CSV is built here, from the table on this page: nothing on the server
// keeps a raw token to serve a later download. A static file, so the admin's CSP allows it.
(function () {
  "use strict";

  function cell(text) {
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function download(button) {
    var lines = ["email,token,track,status"];
    document.querySelectorAll("#new-tokens tbody tr").forEach(function (row) {
      lines.push(
        [".email", ".token", ".track", ".status"]
          .map(function (selector) {
            return cell(row.querySelector(selector).textContent.trim());
          })
          .join(",")
      );
    });
    var blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = button.getAttribute("data-filename") || "walkthrough-tokens.csv";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("download-tokens");
    if (button) {
      button.hidden = false;
      button.addEventListener("click", function () { download(button); });
    }
  });
})();
