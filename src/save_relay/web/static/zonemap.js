// The report page's map: the zones as vectors (tiles only if the settings name a tile server).
// A click on a zone toggles its checkbox, and the checkbox's change event does the rest: htmx asks the
// recipient count, and the zone is restyled. Without JavaScript the checkboxes alone decide.
(function () {
  "use strict";
  const box = document.getElementById("zone-map");
  if (!box || !window.L) {
    return;
  }
  const form = box.closest("form");
  const checkbox = (slug) =>
    Array.from(form.querySelectorAll("input[name=zones]")).find((input) => input.value === slug);
  const style = (slug) => {
    const on = Boolean(checkbox(slug) && checkbox(slug).checked);
    const look = { color: on ? "#0b4f8a" : "#555", weight: on ? 3 : 1, fillOpacity: on ? 0.4 : 0.08 };
    return Object.assign(look, { className: "zone zone-" + slug });
  };
  const map = L.map(box, { attributionControl: Boolean(box.dataset.tiles), zoomSnap: 0.25 });
  if (box.dataset.tiles) {
    L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: box.dataset.attribution || "" }).addTo(map);
  }
  const layers = {};
  fetch(box.dataset.geojson, { credentials: "same-origin" })
    .then((response) => response.json())
    .then((zones) => {
      const drawn = L.geoJSON(zones, {
        style: (feature) => style(feature.properties.slug),
        onEachFeature: (feature, layer) => {
          const slug = feature.properties.slug;
          layers[slug] = layer;
          layer.bindTooltip(feature.properties.name);
          layer.on("click", () => {
            const input = checkbox(slug);
            if (input) {
              input.checked = !input.checked;
              input.dispatchEvent(new Event("change", { bubbles: true }));
            }
          });
        },
      }).addTo(map);
      if (drawn.getLayers().length) {
        map.fitBounds(drawn.getBounds());
      }
      box.dataset.zones = String(drawn.getLayers().length);
    });
  form.addEventListener("change", (event) => {
    const layer = layers[event.target.value];
    if (event.target.name === "zones" && layer) {
      layer.setStyle(style(event.target.value));
    }
  });
})();
