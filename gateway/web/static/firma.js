/* Signature pad of the desk signing page (templates/acta_firmas.html).
   Each form[data-firma] has a canvas drawn on with pointer events (finger, pen or
   mouse); "Borrar la firma" clears it. On submit the drawing goes into the form's
   hidden "png" field as a base64 PNG, which the server hands to SignActa as
   handwritten_png, exactly what the API's handwritten_png_base64 carries. An empty
   pad is not sent: the message beside the pad says why, and focus returns to it. */
(function () {
  "use strict";

  function setUp(form) {
    var canvas = form.querySelector("canvas");
    var field = form.querySelector('input[name="png"]');
    var message = form.querySelector(".field-error");
    var pen = canvas.getContext("2d");
    var drawing = false;
    var drawn = false;

    function blank() {
      pen.fillStyle = "#ffffff";
      pen.fillRect(0, 0, canvas.width, canvas.height);
      pen.lineWidth = 3;
      pen.lineCap = "round";
      pen.lineJoin = "round";
      pen.strokeStyle = "#111111";
      drawn = false;
    }

    // The canvas is scaled by CSS (100% wide): map screen to canvas pixels.
    function at(event) {
      var box = canvas.getBoundingClientRect();
      return {
        x: (event.clientX - box.left) * (canvas.width / box.width),
        y: (event.clientY - box.top) * (canvas.height / box.height)
      };
    }

    canvas.addEventListener("pointerdown", function (event) {
      var p = at(event);
      drawing = true;
      canvas.setPointerCapture(event.pointerId);
      pen.beginPath();
      pen.moveTo(p.x, p.y);
      pen.lineTo(p.x + 0.1, p.y + 0.1); // a tap leaves a dot
      pen.stroke();
      drawn = true;
      message.textContent = "";
      event.preventDefault();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) { return; }
      var p = at(event);
      pen.lineTo(p.x, p.y);
      pen.stroke();
      event.preventDefault();
    });
    function stop() { drawing = false; }
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);

    form.querySelector("[data-borrar]").addEventListener("click", function () {
      blank();
      field.value = "";
      canvas.focus();
    });
    form.addEventListener("submit", function (event) {
      if (!drawn) {
        event.preventDefault();
        message.textContent = "Dibuje la firma en el recuadro antes de guardarla.";
        canvas.focus();
        return;
      }
      field.value = canvas.toDataURL("image/png").split(",")[1];
    });
    blank();
  }

  document.querySelectorAll("form[data-firma]").forEach(setUp);
})();
