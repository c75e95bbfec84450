// The API docs page: Swagger UI (vendored under /static/swagger-ui/) over our OpenAPI schema.
// A file of its own because the site's CSP allows no inline script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("swagger-ui");
  if (!el || typeof window.SwaggerUIBundle !== "function") return;
  window.SwaggerUIBundle({
    url: el.dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: true,
    tryItOutEnabled: true,
    validatorUrl: null, // never send the schema to a third-party validator
  });
});
