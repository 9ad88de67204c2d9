// The API docs page: Swagger UI over the OpenAPI document, started from this file rather than
// an inline script, so the page's Content-Security-Policy needs no 'unsafe-inline' script.
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
