// The header's menu is a <details>, so it opens and closes without JavaScript. With it, the
// menu also behaves as people expect of one: Escape closes it (and puts the focus back on its
// button), and a tap or click anywhere outside it closes it.
(() => {
  const menu = document.querySelector("details.nav-menu");
  if (!menu) return;
  const button = menu.querySelector("summary");
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && menu.open) {
      menu.open = false;
      button.focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (menu.open && !menu.contains(event.target)) menu.open = false;
  });
})();
