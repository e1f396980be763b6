// The header's menu is a <details>: it opens and closes without this script. This adds what
// people expect of a menu besides: Escape closes it (and gives the focus back to its button),
// and so does a click or a focus anywhere outside it.
(function () {
  "use strict";
  function openMenu() {
    return document.querySelector("details.nav-menu[open]");
  }
  document.addEventListener("keydown", function (event) {
    var menu = openMenu();
    if (event.key !== "Escape" || !menu) return;
    menu.open = false;
    menu.querySelector("summary").focus();
  });
  function closeIfOutside(event) {
    var menu = openMenu();
    if (menu && !menu.contains(event.target)) menu.open = false;
  }
  document.addEventListener("click", closeIfOutside);
  document.addEventListener("focusin", closeIfOutside);
})();
