// 权重调优: show each slider's value, mark changed ones, and ask the server for a preview as sliders move;
// 用建议值预览 fills the sliders with the learned weights and previews them without leaving the page.
// The preview is an HTML fragment rendered (and escaped) by the server; one request is in flight at a time.
(function () {
  "use strict";
  var form = document.getElementById("weights-form");
  var target = document.getElementById("preview");
  if (!form || !target) {
    return;
  }
  var token = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var sliders = Array.prototype.slice.call(form.querySelectorAll('input[type="range"]'));
  var DELAY_MS = 300;
  var timer = null;
  var busy = false;
  var again = false;

  function shown(input) {
    var value = Number(input.value);
    return input.step === "any" ? String(Number(value.toFixed(4))) : value.toFixed(2);
  }

  function refresh(input) {
    var box = input.closest(".weight");
    var output = document.getElementById(input.id + "-out");
    if (output) {
      output.textContent = shown(input);
    }
    if (box) {
      box.classList.toggle("changed", Math.abs(Number(input.value) - Number(box.dataset.current)) > 1e-9);
    }
  }

  function preview() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    target.setAttribute("aria-busy", "true");
    target.classList.add("loading");
    fetch("/admin/weights/preview", {
      method: "POST",
      headers: { "X-CSRF-Token": token },
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.text().then(function (html) {
          var expired = response.redirected || response.status === 403;
          target.innerHTML = expired ? '<p class="alert">会话已过期，请刷新页面后重试。</p>' : html;
        });
      })
      .catch(function () {
        target.innerHTML = '<p class="alert">预览失败：无法连接服务器，请稍后重试。</p>';
      })
      .then(function () {
        busy = false;
        target.setAttribute("aria-busy", "false");
        target.classList.remove("loading");
        if (again) {
          again = false;
          preview();
        }
      });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(preview, DELAY_MS);
  }

  form.addEventListener("input", function (event) {
    if (event.target.type === "range") {
      refresh(event.target);
      later();
    }
  });
  form.addEventListener("change", function (event) {
    if (event.target.name === "sample") {
      later();
    }
  });
  form.addEventListener("reset", function () {
    window.setTimeout(function () {
      sliders.forEach(refresh);
      later();
    }, 0);
  });
  document.getElementById("preview-button").addEventListener("click", function (event) {
    event.preventDefault();
    window.clearTimeout(timer);
    preview();
  });
  var learned = document.getElementById("learned-form");
  if (learned) {
    // 用建议值预览: put the proposed values and reason into the sliders' form and preview in place.
    learned.addEventListener("submit", function (event) {
      event.preventDefault();
      sliders.forEach(function (input) {
        var value = learned.elements[input.name].value;
        var hundredths = Number(value) * 100;
        if (Math.abs(hundredths - Math.round(hundredths)) > 1e-6) {
          input.step = "any";
        }
        input.value = value;
        refresh(input);
      });
      form.elements.reason.value = learned.elements.reason.value;
      form.elements.expected_version.value = learned.elements.expected_version.value;
      window.clearTimeout(timer);
      preview();
      document.getElementById("preview-title").scrollIntoView({ behavior: "smooth" });
    });
  }
  var defaults = document.getElementById("defaults-button");
  defaults.hidden = false;
  defaults.addEventListener("click", function () {
    sliders.forEach(function (input) {
      input.value = input.closest(".weight").dataset.default;
      refresh(input);
    });
    later();
  });
})();
