// The "Copy" button of the recovery codes page: puts the codes (the same text
// as the download) on the clipboard. Without JavaScript or a clipboard the
// button stays hidden and the download and the list on the page remain.
"use strict";
(function () {
  const button = document.getElementById("copy-codes");
  if (!button || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", async function () {
    try {
      await navigator.clipboard.writeText(button.dataset.codes);
      button.textContent = "Copied";
    } catch (error) {
      button.textContent = "Could not copy: please select the codes";
    }
  });
})();
