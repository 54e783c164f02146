"""The consoles' API: the centre stream over SSE and WebSocket, the board, the AsyncAPI document."""
