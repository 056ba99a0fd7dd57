//! memd-embed integration tests (one binary): the local MiniLM model against
//! sentence-transformers reference vectors, the OpenAI-compatible embedder against a local
//! stand-in server, and the query cache.

mod cache;
mod minilm;
mod openai;
mod stub_server;
