import { Vatly } from "./client/dist/index.js";
const vatly = new Vatly({ apiKey: process.env.VATLY_API_KEY, baseUrl: "http://127.0.0.1:18088" });
await vatly.customers.create({ email: "ada@example.com", name: "Ada" }, { idempotencyKey: "readme-ada" });
for await (const customer of vatly.customers.list({ limit: 2 })) console.log(customer.id, customer.email);
