// The maps of the coordinator pages, one element #area-map whose data attributes say what to draw:
// data-geojson: the zones as vectors (with data-counts, {slug: members}, their tooltips give the count);
// data-lat/data-lon: a subscriber's place, as a marker;
// data-pick: a canvass's spot: a click fills the form's latitude and longitude, the radius field draws
//   the circle, and a change event on the inputs lets htmx ask the count of companies inside.
// Without JavaScript the fields are typed and the form works the same.
(function () {
  "use strict";
  const box = document.getElementById("area-map");
  if (!box || !window.L) {
    return;
  }
  const counts = box.dataset.counts ? JSON.parse(box.dataset.counts) : {};
  const map = L.map(box, { attributionControl: Boolean(box.dataset.tiles), zoomSnap: 0.25 });
  if (box.dataset.tiles) {
    L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: box.dataset.attribution || "" }).addTo(map);
  }
  const look = { color: "#0b4f8a", weight: 1, fillOpacity: 0.1 };
  let point = null;
  if (box.dataset.lat && box.dataset.lon) {
    point = L.latLng(Number(box.dataset.lat), Number(box.dataset.lon));
    L.circleMarker(point, { radius: 8, color: "#b3261e", fillOpacity: 0.8, className: "place" }).addTo(map);
  }
  fetch(box.dataset.geojson, { credentials: "same-origin" })
    .then((response) => response.json())
    .then((zones) => {
      const drawn = L.geoJSON(zones, {
        style: (feature) => Object.assign({ className: "zone zone-" + feature.properties.slug }, look),
        onEachFeature: (feature, layer) => {
          const slug = feature.properties.slug;
          const members = slug in counts ? " (" + counts[slug] + ")" : "";
          layer.bindTooltip(feature.properties.name + members);
        },
      }).addTo(map);
      if (point) {
        map.setView(point, 15);
      } else if (drawn.getLayers().length) {
        map.fitBounds(drawn.getBounds());
      } else {
        map.setView([51.23, 5.31], 12);
      }
      box.dataset.zones = String(drawn.getLayers().length);
    });
  if (!box.dataset.pick) {
    return;
  }
  const form = box.closest("form");
  const field = (name) => form.querySelector("input[name=" + name + "]");
  let circle = null;
  const draw = () => {
    const lat = Number(field("latitude").value);
    const lon = Number(field("longitude").value);
    const radius = Number(field("radius").value);
    if (!field("latitude").value || !field("longitude").value || !Number.isFinite(lat + lon + radius)) {
      return;
    }
    if (circle) {
      circle.setLatLng([lat, lon]).setRadius(radius);
    } else {
      circle = L.circle([lat, lon], { radius: radius, color: "#b3261e", fillOpacity: 0.15, className: "spot" });
      circle.addTo(map);
    }
  };
  map.on("click", (event) => {
    field("latitude").value = event.latlng.lat.toFixed(6);
    field("longitude").value = event.latlng.lng.toFixed(6);
    field("longitude").dispatchEvent(new Event("change", { bubbles: true }));
  });
  form.addEventListener("change", draw);
  draw();
})();
