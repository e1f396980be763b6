// The product gallery (marketplace/_gallery.html). The page works without this: pictures
// scroll sideways, thumbnails are anchors, each picture links to its full-size file. This adds
// arrows and arrow keys, and opens a picture in a dialog: arrows, swipes, Escape, tap to zoom.
(() => {
  const gallery = document.querySelector("[data-gallery]");
  const track = gallery && gallery.querySelector(".gallery-slides");
  if (!track || !window.HTMLDialogElement) return;
  const links = [...track.querySelectorAll(".gallery-zoom")];
  const thumbs = [...gallery.querySelectorAll(".gallery-thumbs a")];
  const dialog = gallery.querySelector("dialog");
  const viewport = dialog.querySelector(".gallery-viewport");
  const big = dialog.querySelector(".gallery-big");
  const zoom = dialog.querySelector("[data-zoom]");
  let current = 0;

  const mark = () => {
    links.forEach((link, i) => (link.tabIndex = i === current ? 0 : -1));
    thumbs.forEach((thumb, i) => thumb.setAttribute("aria-current", i === current));
    gallery.querySelectorAll("[data-count]").forEach((el) => (el.textContent = current + 1));
    if (dialog.open) show();
  };
  const go = (index, smooth = true) => {
    current = (index + links.length) % links.length;
    track.scrollTo({ left: current * track.clientWidth, behavior: smooth ? "smooth" : "instant" });
    mark();
  };
  const zoomed = (on) => {
    const link = links[current];
    const img = link.querySelector("img");
    viewport.classList.toggle("is-zoomed", on);
    zoom.setAttribute("aria-pressed", on);
    // Zoomed in: the whole file at its own size (given, as the srcset's choice would scale it).
    if (on) big.removeAttribute("srcset"), (big.width = link.dataset.width);
    else (big.srcset = img.srcset), big.removeAttribute("width");
    big.src = on ? link.href : img.src;
  };
  const show = () => {
    big.alt = links[current].querySelector("img").alt;
    dialog.querySelector("[data-caption]").textContent = big.alt;
    zoomed(false);
  };

  track.addEventListener("scroll", () => {
    const index = Math.round(track.scrollLeft / track.clientWidth);
    if (index !== current && !dialog.open) (current = index), mark();
  }, { passive: true });
  track.addEventListener("keydown", (e) => {
    const step = { ArrowLeft: -1, ArrowRight: 1 }[e.key];
    if (!step) return;
    e.preventDefault();
    go(current + step);
    links[current].focus({ preventScroll: true });
  });
  thumbs.forEach((thumb, i) => thumb.addEventListener("click", (e) => (e.preventDefault(), go(i))));
  links.forEach((link, i) => link.addEventListener("click", (e) => {
    e.preventDefault();
    go(i, false);
    dialog.showModal();
    show();
  }));
  gallery.querySelectorAll("[data-step]").forEach((button) =>
    button.addEventListener("click", () => go(current + Number(button.dataset.step), !dialog.open)));
  dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => (zoomed(false), (thumbs[current] || links[current]).focus()));
  dialog.addEventListener("keydown", (e) => {
    const step = { ArrowLeft: -1, ArrowRight: 1 }[e.key];
    if (step && !viewport.classList.contains("is-zoomed")) e.preventDefault(), go(current + step, false);
  });

  // Tap (or click) to zoom in where tapped, again to zoom out; pinching zooms natively.
  const toggle = (x = 0.5, y = 0.5) => {
    zoomed(!viewport.classList.contains("is-zoomed"));
    const centre = () => viewport.scrollTo(x * big.offsetWidth - viewport.clientWidth / 2,
      y * big.offsetHeight - viewport.clientHeight / 2);
    big.complete ? centre() : big.addEventListener("load", centre, { once: true });
  };
  const at = (e, box = big.getBoundingClientRect()) =>
    toggle((e.clientX - box.left) / box.width, (e.clientY - box.top) / box.height);
  zoom.addEventListener("click", () => toggle());
  big.addEventListener("click", at);
  // One finger: a tap on the picture zooms (at once, without waiting for a click), a swipe
  // across it shows the next or previous picture unless it is zoomed in.
  let start = null;
  viewport.addEventListener("touchstart", (e) => (start = e.touches.length === 1 ? e.touches[0] : null), { passive: true });
  viewport.addEventListener("touchend", (e) => {
    const end = e.changedTouches[0];
    const [dx, dy] = start ? [end.clientX - start.clientX, end.clientY - start.clientY] : [0, 99];
    const still = !viewport.classList.contains("is-zoomed") && (window.visualViewport?.scale || 1) <= 1;
    if (Math.abs(dx) < 10 && Math.abs(dy) < 10 && e.target === big) e.preventDefault(), at(end);
    else if (still && Math.abs(dx) > 50 && Math.abs(dx) > 2 * Math.abs(dy)) go(current + (dx < 0 ? 1 : -1), false);
    start = null;
  });

  gallery.classList.add("is-enhanced");
  const named = /^#picture-(\d+)$/.exec(location.hash);
  go(named ? Number(named[1]) - 1 : 0, false);
})();
