"""HTTP for 网络渠道 import: staff (or a machine with the service token) upload a platform's export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Query, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.auth.deps import Principal, require_principal
from api.auth.models import Role
from api.core.db import session_factory
from api.online import service

router = APIRouter(prefix="/api/v1/online", tags=["online"])
Importer = Annotated[Principal, Depends(require_principal(Role.admin, Role.dispatcher, Role.agent, Role.service))]
MAX_BYTES = 50 * 1024 * 1024


@router.post("/import", summary="导入网络平台留言（CSV/TSV/Excel/JSON，TipDM 列名或中文列名）为网络渠道工单")
async def import_file(principal: Importer, file: Annotated[UploadFile, File()],
                      platform: Annotated[str, Query(min_length=1, max_length=32, description="我的盐城、人民网留言、互联网+督查…")]
                      = "网络平台") -> dict[str, Any]:
    content = await file.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise HTTPException(413, detail="文件超过50MB，请分批导入。")

    def run() -> dict[str, Any]:
        messages, rejected = service.parse(content=content, filename=file.filename or "upload.csv")
        with session_factory()() as db_session:
            result = service.ImportResult(rejected=rejected)
            actor = "online-import" if principal.is_service else principal.username
            return service.import_messages(db_session=db_session, messages=messages, platform=platform, actor=actor,
                                           result=result).as_dict()

    try:
        return await run_in_threadpool(run)
    except service.ImportError_ as exc:
        raise HTTPException(422, detail=str(exc)) from None
