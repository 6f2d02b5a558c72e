/* "Usar mi ubicación" beside each GPS field of the new-acta form
   (templates/_acta_campo.html): fills latitude, longitude and accuracy from
   navigator.geolocation. The button appears only where the browser offers
   geolocation; typing the coordinates by hand always works. */
(function () {
  "use strict";
  if (!("geolocation" in navigator)) { return; }

  document.querySelectorAll("button[data-gps]").forEach(function (button) {
    var name = button.getAttribute("data-gps");
    var status = button.nextElementSibling; // the field's aria-live help line
    button.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = "Buscando la ubicación del equipo…";
      navigator.geolocation.getCurrentPosition(
        function (position) {
          var c = position.coords;
          document.getElementById(name + "_lat").value = c.latitude.toFixed(6);
          document.getElementById(name + "_lon").value = c.longitude.toFixed(6);
          document.getElementById(name + "_precision").value = Math.round(c.accuracy);
          status.textContent = "Ubicación tomada del equipo (precisión de " + Math.round(c.accuracy) + " m).";
        },
        function (error) {
          status.textContent = error.code === 1
            ? "El navegador no dio permiso para usar la ubicación: escriba la latitud y la longitud."
            : "No se pudo obtener la ubicación: escriba la latitud y la longitud.";
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    });
  });
})();
