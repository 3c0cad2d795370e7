"""category rules: keywords and weights that assign categories to imported problems,
seeded with defaults for CONTRACT.md's taxonomy

Revision ID: fe673b1622dd
Revises: 725ac67ec1b6
Create Date: 2026-11-22 02:54:42.995571

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'fe673b1622dd'
down_revision = '725ac67ec1b6'
branch_labels = None
depends_on = None

# The default rules as they stood when this revision was written; admins edit them on a page.
DEFAULT_RULES = {
    'legal_publicity': {'普法': 3, '宣传': 2, '谁执法谁普法': 4, '法治宣传': 3, '知晓率': 2, '以案释法': 3},
    'fine_instead_of_management': {'以罚代管': 6, '一罚了之': 5, '重处罚轻管理': 5, '只罚不管': 5},
    'case_file_quality': {'案卷': 4, '文书': 2, '调查取证': 3, '瑕疵': 3, '卷宗': 3, '证据': 2},
    'enforcement_capacity': {'执法力量': 4, '编制': 2, '人员不足': 3, '严重不足': 2, '人员减少': 3, '装备': 2, '执法车辆': 2, '老龄化': 2, '年龄老化': 2, '保障': 2, '经费': 2, '队伍建设': 2},
    'enforcement_competence': {'素质': 3, '能力': 2, '业务能力': 2, '专业水平': 2, '执法技能': 2, '知识结构': 2, '专业人才': 2, '培训': 1},
    'enforcement_methods': {'执法方式': 4, '方式方法': 3, '人海战术': 3, '非现场执法': 2, '科技手段': 2, '柔性执法': 2, '执法手段': 2},
    'theory_study': {'习近平法治思想': 3, '学习': 1, '理论': 2, '学深悟透': 2, '法治观念': 2, '法治意识': 2, '深学': 2},
    'accountability': {'第一责任人': 3, '责任落实': 3, '主体责任': 2, '监督': 2, '巡察': 2, '问责': 2, '压实': 2, '落实不到位': 2},
    'safety_supervision': {'安全生产': 5, '安全监管': 3, '隐患': 2},
    'institutional_mechanism': {'制度': 2, '机制': 2, '规范性文件': 2, '权责清单': 2, '法规体系': 2},
}


def upgrade():
    op.create_table('category_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('keyword', sa.String(length=50), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_category_rules_category_id_categories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_category_rules')),
    sa.UniqueConstraint('category_id', 'keyword', name=op.f('uq_category_rules_category_id_keyword'))
    )
    with op.batch_alter_table('category_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_category_rules_category_id'), ['category_id'], unique=False)

    categories = sa.table("categories", sa.column("id", sa.Integer), sa.column("code", sa.String))
    ids = dict(op.get_bind().execute(sa.select(categories.c.code, categories.c.id)).all())
    rules = sa.table("category_rules", sa.column("category_id", sa.Integer), sa.column("keyword", sa.String),
                     sa.column("weight", sa.Integer))
    op.bulk_insert(rules, [
        {"category_id": ids[code], "keyword": keyword, "weight": weight}
        for code, keywords in DEFAULT_RULES.items() if code in ids
        for keyword, weight in keywords.items()
    ])



def downgrade():
    with op.batch_alter_table('category_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_category_rules_category_id'))

    op.drop_table('category_rules')
