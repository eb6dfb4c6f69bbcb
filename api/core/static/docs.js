// The API reference page (Swagger UI): its start-up lives here, not inline, so the page keeps the CSP.
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
