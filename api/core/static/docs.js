// The API reference page (Swagger UI, vendored): its start-up lives here, not inline, so the page keeps
// the CSP; validatorUrl null, so it never sends the spec to swagger.io from a county intranet.
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, validatorUrl: null });
